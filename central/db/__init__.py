"""Central's database: engine, tables, column types and migrations."""
