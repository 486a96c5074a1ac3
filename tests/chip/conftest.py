"""Chip fixtures come from support.chipcards (shared with the other chip test folders)."""

from support.chipcards import generation, km, make_card

__all__ = ["generation", "km", "make_card"]
