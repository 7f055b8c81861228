"""The control tower: one read of a plant's orders, shipments, picks, work orders, edges,
conflicts and holds, its health scores, and its topology (locations with their stock).

It only reads tables (aggregate queries, a few round trips); it changes nothing and is the
one place the plant-wide figures are defined (docs/central-orders.md, "Control tower").
"""
