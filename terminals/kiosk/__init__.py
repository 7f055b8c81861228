"""The operator kiosk: a Textual app that talks to its edge over HTTP only."""
