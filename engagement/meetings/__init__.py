"""The workspace meeting index, its sync, and its SQLite and Redis storages."""
