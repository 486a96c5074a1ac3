"""参保证明 and 缴费清单 as PDF (fpdf2, the CJK font of ``receipt_pdf``), each with its verification code and where
to check it. What they print comes from ``portal.documents.issue``; this module only lays it out."""

from __future__ import annotations

from fpdf import FPDF

from sscard import clock
from sscard.money import yuan
from sscard.pdffont import font_path
from sscard.portal.schemas import Certificate
from sscard.web import portal_labels as pl
from sscard.web.i18n import N_, gettext


def _period(value: str | None) -> str:
    return value or "—"


def certificate_pdf(cert: Certificate, language: str, verify_url: str) -> bytes:
    def t(message: str, **params: object) -> str:
        return gettext(language, message, **params)

    title = t(pl.CERTIFICATE[cert.kind])
    pdf = FPDF(format="A4")
    pdf.set_title(f"{title} {cert.code}")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.add_font("cjk", fname=str(font_path()))
    pdf.set_font("cjk", size=16)
    pdf.cell(w=0, h=10, text=t(N_("Qingyuan Human Resources and Social Security")) + " · " + title,
             new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font_size(10)
    pdf.ln(2)
    issued = clock.local_date(cert.issued_at).isoformat()
    for label, value in ((N_("Name"), cert.name), (N_("ID number"), cert.id_masked),
                         (N_("Issued on"), issued), (N_("Valid until"), cert.valid_until.isoformat())):
        pdf.cell(w=35, h=7, text=t(label), border=1)
        pdf.cell(w=0, h=7, text=value, border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if cert.kind == "insured":
        pdf.set_font_size(12)
        pdf.cell(w=0, h=8, text=t(N_("Insurance standing")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(9)
        widths: tuple[int, ...] = (44, 32, 30, 30, 44)
        heads: tuple[str, ...] = (N_("Insurance"), N_("Standing"), N_("First month paid"), N_("Last month paid"),
                 N_("Contribution period"))
        for w, head in zip(widths, heads, strict=True):
            pdf.cell(w=w, h=7, text=t(head), border=1)
        pdf.ln()
        for s in cert.standings:
            span = t(N_("%(years)s years %(months)s months"), years=s.years, months=s.months)
            cells: tuple[str, ...] = (t(pl.INSURANCE.get(s.insurance_type, s.insurance_type)), t(pl.STANDING[s.status]),
                     _period(s.first_period), _period(s.last_paid_period), span)
            for w, text in zip(widths, cells, strict=True):
                pdf.cell(w=w, h=7, text=text, border=1)
            pdf.ln()
    else:
        pdf.set_font_size(12)
        pdf.cell(w=0, h=8, text=t(N_("Contributions by month (yuan)")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(9)
        widths = (22, 44, 28, 28, 28, 30)
        heads = (N_("Month of contribution"), N_("Insurance"), N_("Employer's share"), N_("Your share"), N_("Total"),
                 N_("Status"))
        for w, head in zip(widths, heads, strict=True):
            pdf.cell(w=w, h=7, text=t(head), border=1)
        pdf.ln()
        for line in cert.lines:
            cells = (line.period, t(pl.INSURANCE.get(line.insurance_type, line.insurance_type)),
                     yuan(line.employer_fen), yuan(line.employee_fen), yuan(line.amount_fen),
                     t(pl.CONTRIB_STATUS.get(line.status, line.status)))
            for w, text in zip(widths, cells, strict=True):
                pdf.cell(w=w, h=7, text=text, border=1, align="R" if text[:1].isdigit() and "-" not in text
                         else "L")
            pdf.ln()
        if not cert.lines:
            pdf.cell(w=0, h=7, text=t(N_("No records.")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font_size(11)
    pdf.cell(w=0, h=8, text=t(N_("Verification code")) + ": " + cert.code, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(9)
    pdf.multi_cell(w=0, h=6, text=t(N_("Anyone who receives this document can check it at %(url)s with the code "
                                       "above until %(until)s. The check shows only the masked name and ID "
                                       "number and whether the document is valid."),
                                    url=verify_url, until=cert.valid_until.isoformat()), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(w=0, h=6, text=t(N_("This document shows your social insurance as recorded on the day it was "
                                       "issued.")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
