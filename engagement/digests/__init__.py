"""Digests: what changed per account in a period, each line with its quote and a link back, sent to Slack and e-mail."""
