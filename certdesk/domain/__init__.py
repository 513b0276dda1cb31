"""Pure-Python heart of certdesk: names, scopes, X.509 analysis and errors."""
