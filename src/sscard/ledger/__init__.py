"""The ledger (账务): accounts and balanced, idempotent, two-phase transfers in integer fen, after TigerBeetle.

Other domains move money only through ``sscard.ledger.service``, inside their own transaction.
"""
