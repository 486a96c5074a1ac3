"""Effective-dated policy parameters: every number a rule depends on, with the date it took effect."""
