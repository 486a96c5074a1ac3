"""Issuance statistics: cards by status and division (the progress issue extends this to targets)."""
