"""The operator kiosk: a Textual app that speaks only to its edge's local HTTP API."""
