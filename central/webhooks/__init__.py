"""Webhooks: outside HTTP endpoints sent central's events, signed as Standard Webhooks
(https://www.standardwebhooks.com): subscriptions, the fan-out of events into deliveries, the
delivery worker with its retries and dead letters."""
