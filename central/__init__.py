"""IOE central package."""
