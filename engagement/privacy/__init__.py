"""Forgetting a customer or a person on request: every trace removed from the stores, and a tombstone (a salted
hash, never the name) that keeps a later sync, webhook or summary from bringing them back."""

from engagement.privacy.tombstones import TOMBSTONES_TABLE, ForgottenError, Tombstones

__all__ = ["TOMBSTONES_TABLE", "ForgottenError", "Tombstones"]
