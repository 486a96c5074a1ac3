"""Data exchange with other departments (docs/exchange.md, docs/exchange-feeds.md)."""
