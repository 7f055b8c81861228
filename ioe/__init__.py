"""IOE ioe package."""
