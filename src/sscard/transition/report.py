"""The reconciliation report of an import (旧医保卡余额迁移核对表) as CSV and as PDF (fpdf2, a CJK font from the
system as for the fee receipt: Debian's fonts-wqy-microhei, or ``SSCARD_WEB_PDF_FONT``), in Chinese or English.
Amounts in yuan with two decimals, computed from integer fen (no float)."""

from __future__ import annotations

import csv
import io

from fpdf import FPDF

from sscard import clock
from sscard.money import yuan
from sscard.pdffont import PdfFontMissing, font_path
from sscard.transition.errors import LegacyReportFontMissing
from sscard.transition.schemas import ReportOut

# (Chinese, English) of every label the report prints.
_LABELS: dict[str, tuple[str, str]] = {
    "title": ("旧医保卡个人账户余额迁移核对表", "Legacy medical card balances: migration reconciliation"),
    "source": ("原系统", "Old system"),
    "file_id": ("文件编号", "File id"),
    "as_of": ("余额截止日", "Balances as of"),
    "imported": ("导入时间 / 操作员", "Imported at / by"),
    "item": ("项目", "Item"),
    "count": ("笔数", "Cards"),
    "amount": ("金额（元）", "Amount (yuan)"),
    "old": ("原系统合计（文件）", "Old system total (file)"),
    "carried": ("已迁入个人医疗账户", "Carried into personal medical accounts"),
    "journal": ("其中：账务流水（过渡账户转出）", "Of which: ledger journal (from the transition account)"),
    "queued": ("异常队列（未迁移）", "Exceptions queue (not carried)"),
    "difference": ("差额（原合计 − 流水 − 异常）", "Difference (old − journal − queued)"),
    "account": ("过渡账户累计转出", "Transition account: debits to date"),
    "result": ("核对结果", "Result"),
    "ok": ("平衡：新旧合计相等，分毫不差", "Balanced: the old total equals the new total to the fen"),
    "not_ok": ("不平衡：请核查", "NOT balanced: investigate"),
    "generated": ("生成时间", "Generated at"),
    "NO_PERSON": ("  异常：无此身份证号码人员", "  Exception: no person with that ID number"),
    "ID_INVALID": ("  异常：身份证号码校验位错误", "  Exception: ID number check digit wrong"),
    "PERSON_DECEASED": ("  异常：人员已死亡", "  Exception: person deceased"),
}




def _t(key: str, language: str) -> str:
    zh, en = _LABELS.get(key, (key, key))
    return en if language == "en" else zh


def _local(moment: object) -> str:
    import datetime as dt

    assert isinstance(moment, dt.datetime)
    return moment.astimezone(clock.local_zone()).strftime("%Y-%m-%d %H:%M")


def rows(r: ReportOut, language: str = "zh_CN") -> list[tuple[str, str, str]]:
    """(item, cards, amount) — what both the CSV and the PDF show, in this order."""
    out = [(_t("old", language), f"{r.old_count}", yuan(r.old_fen)),
           (_t("carried", language), f"{r.carried_count}", yuan(r.carried_fen)),
           (_t("journal", language), f"{r.journal_transfers}", yuan(r.journal_fen)),
           (_t("queued", language), f"{r.queued_count}", yuan(r.queued_fen))]
    out += [(_t(reason, language), f"{count}", yuan(fen)) for reason, (count, fen) in sorted(r.by_reason.items())]
    out += [(_t("difference", language), "", yuan(r.difference_fen)),
            (_t("account", language), "", yuan(r.transition_account_debit_fen))]
    return out


def report_csv(r: ReportOut) -> bytes:
    """UTF-8 CSV with a BOM (spreadsheets open it as such): machine keys and integer fen beside the labels."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "item", "cards", "fen"])
    writer.writerow(["source", r.source, "", ""])
    writer.writerow(["file_id", r.file_id, "", ""])
    writer.writerow(["as_of", r.as_of.isoformat(), "", ""])
    for key, count, fen in (("old", r.old_count, r.old_fen), ("carried", r.carried_count, r.carried_fen),
                            ("journal", r.journal_transfers, r.journal_fen),
                            ("queued", r.queued_count, r.queued_fen),
                            *((f"queued.{reason}", c, f) for reason, (c, f) in sorted(r.by_reason.items())),
                            ("difference", "", r.difference_fen),
                            ("transition_account_debits", "", r.transition_account_debit_fen)):
        writer.writerow([key, _t(key.removeprefix("queued.") if key.startswith("queued.") else key, "zh_CN"),
                         count, fen])
    writer.writerow(["reconciled", _t("ok" if r.reconciled else "not_ok", "zh_CN"), "", int(r.reconciled)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_pdf(r: ReportOut, language: str = "zh_CN") -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"{_t('title', language)} {r.file_id}")
    pdf.add_page()
    try:
        pdf.add_font("cjk", fname=str(font_path()))
    except PdfFontMissing as exc:
        raise LegacyReportFontMissing(str(exc)) from None
    pdf.set_font("cjk", size=14)
    pdf.cell(text=_t("title", language), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font_size(10)
    for key, value in (("source", r.source), ("file_id", r.file_id), ("as_of", r.as_of.isoformat()),
                       ("imported", f"{_local(r.imported_at)} / {r.imported_by}")):
        pdf.cell(w=45, h=7, text=_t(key, language), border=1)
        pdf.cell(w=0, h=7, text=value, border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(w=110, h=7, text=_t("item", language), border=1)
    pdf.cell(w=30, h=7, text=_t("count", language), border=1, align="R")
    pdf.cell(w=0, h=7, text=_t("amount", language), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    for item, count, amount in rows(r, language):
        pdf.cell(w=110, h=7, text=item, border=1)
        pdf.cell(w=30, h=7, text=count, border=1, align="R")
        pdf.cell(w=0, h=7, text=amount, border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(w=45, h=7, text=_t("result", language), border=1)
    pdf.cell(w=0, h=7, text=_t("ok" if r.reconciled else "not_ok", language), border=1, new_x="LMARGIN",
             new_y="NEXT")
    pdf.cell(w=45, h=7, text=_t("generated", language), border=1)
    pdf.cell(w=0, h=7, text=_local(r.generated_at), border=1, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
