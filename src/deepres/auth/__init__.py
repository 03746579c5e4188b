"""API clients: hashed and encrypted tokens, JWTs with a token generation, dotted permissions."""
