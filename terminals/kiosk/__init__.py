"""The operator kiosk: a Textual screen per station that speaks only to the edge's local API."""
