"""Authentication: operators, outlets, API tokens, logins, lockout and TOTP. (Roles and the permission check
every use case starts with are `sscard.access`, below every domain.)"""
