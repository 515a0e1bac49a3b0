"""Other applications: API keys, the risk API and signed webhooks."""
