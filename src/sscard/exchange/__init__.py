"""Data sharing with other departments (docs/exchange.md)."""
