"""Questions about an account: the transcript search (SQLite and Redis) and verified answers."""
