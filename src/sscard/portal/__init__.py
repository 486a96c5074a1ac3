"""The cardholder portal and kiosk: query passwords, cardholder sessions, self-service reads and changes.
Pages live in ``sscard.web``; see docs/web.md. (Operators' second factor, TOTP, is ``sscard.auth.totp``.)"""
