"""`python -m ioe` runs the CLI."""

from ioe.cli import app

app()
