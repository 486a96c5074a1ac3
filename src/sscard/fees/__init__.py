"""Fees (工本费): an effective-dated fee table and the charges recorded with receipt numbers."""
