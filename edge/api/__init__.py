"""The edge's local API for kiosks and tools; it never calls central, so it works offline."""

from edge.api.app import create_edge_api

__all__ = ["create_edge_api"]
