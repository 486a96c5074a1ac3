"""Cooperating banks: batch files, the gateway interface, payment accounts, the simulated bank (docs/banks.md)."""
