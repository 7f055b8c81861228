"""Central's domain services: keyword-only functions over a connection, raising central.errors."""
