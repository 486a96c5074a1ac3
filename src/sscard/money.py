"""Integer fen shown as yuan: one formatter for pages, PDFs and the command line (money is never a float)."""

from __future__ import annotations


def yuan(fen: int | None) -> str:
    """``123456`` → ``1,234.56``; ``-5`` → ``-0.05``; ``None`` → ``-`` (no amount)."""
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
