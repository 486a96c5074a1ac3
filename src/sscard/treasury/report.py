"""The monthly reconciliation report (银行存款余额调节表) of one account, as PDF (fpdf2) and CSV.

The PDF needs a font with Chinese glyphs from the system, found the way the fee receipt finds it
(``SSCARD_WEB_PDF_FONT`` or Debian's fonts-wqy-microhei / Noto CJK); the lookup is repeated here because a domain
package may not import the web layer.
"""

from __future__ import annotations

import csv
import io

from fpdf import FPDF

from sscard.money import yuan
from sscard.pdffont import PdfFontMissing, font_path
from sscard.treasury.errors import TreasuryReportFontMissing
from sscard.treasury.service import Reconciliation, ReconItem

TEXT = {
    "zh_CN": {"title": "银行存款余额调节表", "account": "账户", "bank": "开户银行", "account_no": "银行账号",
              "month": "月份", "as_of": "截止日期", "bank_balance": "银行对账单余额",
              "ledger_balance": "单位账面余额", "book_in": "加：企业已收、银行未收",
              "book_out": "减：企业已付、银行未付",
              "bank_in": "加：银行已收、企业未收", "bank_out": "减：银行已付、企业未付", "adjusted": "调节后余额",
              "balanced": "调节后余额相符", "unbalanced": "调节后余额不符", "day": "日期", "reference": "业务编号",
              "amount": "金额（元）", "none": "无"},
    "en": {"title": "Bank reconciliation statement", "account": "Account", "bank": "Bank",
           "account_no": "Bank account number", "month": "Month", "as_of": "As of",
           "bank_balance": "Bank statement balance", "ledger_balance": "Ledger balance",
           "book_in": "Add: received in the ledger, not by the bank",
           "book_out": "Less: paid in the ledger, not by the bank",
           "bank_in": "Add: received by the bank, not in the ledger",
           "bank_out": "Less: paid by the bank, not in the ledger", "adjusted": "Adjusted balance",
           "balanced": "The adjusted balances agree", "unbalanced": "The adjusted balances differ", "day": "Date",
           "reference": "Reference", "amount": "Amount (yuan)", "none": "none"},
}




def mask(account_no: str) -> str:
    """A bank account number as reports show it: the last four digits."""
    return "*" * max(0, len(account_no) - 4) + account_no[-4:]


def _sections(r: Reconciliation) -> list[tuple[str, list[ReconItem]]]:
    return [("book_in", r.ledger_in_bank_not), ("book_out", r.ledger_out_bank_not),
            ("bank_in", r.bank_in_ledger_not), ("bank_out", r.bank_out_ledger_not)]


def reconciliation_csv(r: Reconciliation, language: str = "zh_CN") -> bytes:
    """The report as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese)."""
    t = TEXT.get(language, TEXT["zh_CN"])
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([t["title"]])
    w.writerow([t["account"], r.account.code, t["bank"], r.account.bank_code, t["account_no"],
                mask(r.account.account_no)])
    w.writerow([t["month"], r.month, t["as_of"], r.as_of.isoformat()])
    w.writerow([t["bank_balance"], r.bank_balance, t["ledger_balance"], r.ledger_balance])
    for key, items in _sections(r):
        w.writerow([t[key], sum(x.amount for x in items)])
        for x in items:
            w.writerow(["", x.day.isoformat(), x.reference, x.description, x.amount])
    w.writerow([t["adjusted"], r.adjusted_bank, t["adjusted"], r.adjusted_ledger])
    w.writerow([t["balanced"] if r.balanced else t["unbalanced"]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def reconciliation_pdf(r: Reconciliation, language: str = "zh_CN") -> bytes:
    """The report as an A4 PDF: the bank's side on the left, the ledger's on the right, items listed below."""
    t = TEXT.get(language, TEXT["zh_CN"])
    pdf = FPDF(format="A4")
    pdf.set_title(f"{t['title']} {r.account.code} {r.month}")
    pdf.add_page()
    try:
        pdf.add_font("cjk", fname=str(font_path()))
    except PdfFontMissing as exc:
        raise TreasuryReportFontMissing(str(exc)) from None
    pdf.set_font("cjk", size=15)
    pdf.cell(text=t["title"], new_x="LMARGIN", new_y="NEXT", align="C", w=0)
    pdf.set_font_size(9)
    pdf.cell(text=f"{t['account']}: {r.account.code} ({r.account.name})    {t['bank']}: {r.account.bank_code}    "
             f"{t['account_no']}: {mask(r.account.account_no)}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text=f"{t['month']}: {r.month}    {t['as_of']}: {r.as_of.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    left = [(t["bank_balance"], r.bank_balance), (t["book_in"], sum(x.amount for x in r.ledger_in_bank_not)),
            (t["book_out"], sum(x.amount for x in r.ledger_out_bank_not)), (t["adjusted"], r.adjusted_bank)]
    right = [(t["ledger_balance"], r.ledger_balance), (t["bank_in"], sum(x.amount for x in r.bank_in_ledger_not)),
             (t["bank_out"], sum(x.amount for x in r.bank_out_ledger_not)), (t["adjusted"], r.adjusted_ledger)]
    for (l_label, l_value), (r_label, r_value) in zip(left, right, strict=True):
        pdf.cell(w=half * 0.65, h=8, text=l_label, border=1)
        pdf.cell(w=half * 0.35, h=8, text=yuan(l_value), border=1, align="R")
        pdf.cell(w=half * 0.65, h=8, text=r_label, border=1)
        pdf.cell(w=half * 0.35, h=8, text=yuan(r_value), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(text=t["balanced"] if r.balanced else t["unbalanced"], new_x="LMARGIN", new_y="NEXT")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for key, items in _sections(r):
        pdf.ln(2)
        pdf.set_font_size(10)
        pdf.cell(text=t[key], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(8)
        if not items:
            pdf.cell(text=t["none"], new_x="LMARGIN", new_y="NEXT")
            continue
        for label, share in ((t["day"], 0.18), (t["reference"], 0.32), ("", 0.3), (t["amount"], 0.2)):
            pdf.cell(w=width * share, h=6, text=label, border=1)
        pdf.ln()
        for x in items[:500]:
            pdf.cell(w=width * 0.18, h=6, text=x.day.isoformat(), border=1)
            pdf.cell(w=width * 0.32, h=6, text=x.reference[:40], border=1)
            pdf.cell(w=width * 0.3, h=6, text=x.description[:30], border=1)
            pdf.cell(w=width * 0.2, h=6, text=yuan(x.amount), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
