"""bbauth for apps it does not own: forward-auth behind a reverse proxy."""
