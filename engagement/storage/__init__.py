"""The key-value store contract and its two backends, SQLite (sqlitedict) and Redis."""
