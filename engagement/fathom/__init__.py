"""Fathom's External API: the client, its models' checks, the rate limiters and the demo API."""
