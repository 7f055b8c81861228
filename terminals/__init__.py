"""IOE terminals package."""
