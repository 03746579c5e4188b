"""Jobs, dates and pipelines as database rows with states and leases; their outbox of webhooks."""
