"""bbauth for apps it does not own: forward-auth behind a reverse proxy, and for apps with their
own sign-in, API keys, the risk API and signed webhooks."""
