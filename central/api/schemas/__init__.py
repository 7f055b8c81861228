"""Request and response bodies, one module per area; quantities are decimal strings both ways."""
