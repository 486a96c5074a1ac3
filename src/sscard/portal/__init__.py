"""The cardholder portal and kiosk (query passwords, cardholder sessions, self-service reads and changes) and
operators' optional second factor (TOTP, RFC 6238). Pages live in ``sscard.web``; see docs/web.md."""
