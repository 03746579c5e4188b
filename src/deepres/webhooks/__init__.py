"""Webhooks as a library: signing, sending under a total deadline, retry policy, SSRF guard."""
