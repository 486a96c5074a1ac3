"""The font with Chinese glyphs every PDF of sscard is set in (fpdf2 embeds it): the fee receipt, the 参保证明,
the transfer voucher, the legacy-card and the bank reconciliation reports. One setting for all of them,
``SSCARD_WEB_PDF_FONT`` (docs/web.md), else Debian's fonts-wqy-microhei or Noto Sans CJK where installed."""

from __future__ import annotations

import os
from pathlib import Path

FONT_ENV = "SSCARD_WEB_PDF_FONT"
FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class PdfFontMissing(Exception):
    """No font with Chinese glyphs was found: the PDF cannot be made (each caller's other form still works: the
    receipt's HTML print view, the JSON voucher, the reports' CSV)."""


def font_path() -> Path:
    configured = os.environ.get(FONT_ENV)
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise PdfFontMissing(f"set {FONT_ENV} or install fonts-wqy-microhei")
