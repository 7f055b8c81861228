"""IOE edge package."""
