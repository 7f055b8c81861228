"""Reference data to the edges: deltas per (site, kind) fed by the outbox, snapshots on request."""
