"""Events out of central: the transactional outbox, its sequencer and relay, and the readers
that carry events on (server-sent events, webhooks, reference data to the edges)."""
