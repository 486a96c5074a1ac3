"""The fee receipt as a PDF (fpdf2), with a CJK font from the system (Debian: fonts-wqy-microhei)."""

from __future__ import annotations

from fpdf import FPDF

from sscard.cards.receipts import Receipt
from sscard.pdffont import FONT_ENV, PdfFontMissing, font_path  # noqa: F401  (re-exported for the routes)
from sscard.web import labels
from sscard.web.i18n import N_, gettext, local_time, yuan_in_words


def receipt_pdf(receipt: Receipt, language: str) -> bytes:
    def t(message: str) -> str:
        return gettext(language, message)

    pdf = FPDF(format="A5")
    pdf.set_title(f"{t(N_('Fee receipt'))} {receipt.receipt_no}")
    pdf.add_page()
    pdf.add_font("cjk", fname=str(font_path()))
    pdf.set_font("cjk", size=14)
    pdf.cell(text=t(N_("Qingyuan Social Security Card Management System")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(12)
    pdf.cell(text=t(N_("Fee receipt")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    business = t(labels.BUSINESS.get(receipt.business, receipt.business))
    if receipt.reason:
        business += " — " + t(labels.EXCHANGE_REASON.get(receipt.reason, receipt.reason))
    rows = [
        (N_("Receipt number"), receipt.receipt_no),
        (N_("Business"), business),
        (N_("Name"), receipt.person_name),
        (N_("ID number"), receipt.id_number_masked),
        (N_("New card number"), receipt.card_no),
        (N_("Amount"), f"¥{receipt.amount_fen // 100}.{receipt.amount_fen % 100:02d}"),
        (N_("Amount in words"), yuan_in_words(receipt.amount_fen)),
        (N_("Time"), f"{local_time(receipt.charged_at)} ({t(N_('Beijing time'))})"),
        (N_("Operator"), receipt.operator_name),
        (N_("Outlet"), receipt.outlet_name or "—"),
        (N_("Issuing unit"), t(N_("Qingyuan Human Resources and Social Security Bureau"))),
        (N_("Audit serial number"), str(receipt.audit_seq)),
    ]
    pdf.set_font_size(10)
    for label, value in rows:
        pdf.cell(w=40, h=7, text=t(label), border=1)
        pdf.cell(w=0, h=7, text=value, border=1, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
