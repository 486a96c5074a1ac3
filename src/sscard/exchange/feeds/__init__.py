"""Inbound feeds from other departments through the file ferry: SM4-encrypted, HMAC-SM3-MAC'd files in a spool
directory per partner, each applied whole in one transaction, exactly once (docs/exchange-feeds.md)."""
