"""Append-only, hash-chained audit log of every state change (who, what, when, where, before, after)."""
