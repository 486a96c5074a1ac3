"""Operators, roles, outlets, API tokens and the permission check every use case starts with."""
