"""The 参保缴费凭证 as a printable PDF (fpdf2, a CJK system font): the person (ID number masked), the pension and
medical records with their amounts, and the machine-readable voucher's number and digest, by which the receiving
city checks the copy the holder presents against the signed JSON voucher (the document that counts)."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

from sscard.money import yuan
from sscard.pdffont import PdfFontMissing, font_path  # noqa: F401  (re-exported for callers)
from sscard.registry import idnumber
from sscard.transfer import messages


def voucher_pdf(raw: bytes) -> bytes:
    """The printable voucher of a signed voucher document (as issued: ``service.voucher_of``)."""
    env = messages.decode(raw)
    body: dict[str, Any] = env["body"]
    pension, medical = body["pension"], body["medical"]
    digest = messages.Envelope(env["kind"], env["msg_id"], env["from_city"], env["to_city"], env["sent_at"], body,
                               raw).digest
    pdf = FPDF(format="A4")
    pdf.set_title(f"参保缴费凭证 {body['voucher_no']}")
    pdf.add_page()
    pdf.add_font("cjk", fname=str(font_path()))
    pdf.set_font("cjk", size=16)
    pdf.cell(text="基本养老保险、基本医疗保险参保缴费凭证", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.ln(3)
    person = body["person"]
    first = pension["history"][0]["period"] if pension["history"] else "-"
    last = pension["history"][-1]["period"] if pension["history"] else "-"
    rows = [
        ("凭证编号", body["voucher_no"]),
        ("转出地", env["from_city"]), ("转入地", env["to_city"]), ("开具日期", body["issued_on"]),
        ("姓名", person["name"]), ("公民身份号码", idnumber.mask(person["id_number"])),
        ("养老保险缴费月数", f"{pension['months']}（{first} 至 {last}）"),
        ("个人账户储存额", "¥" + yuan(pension["personal_fen"])),
        ("当年个人账户利息", f"¥{yuan(pension['interest_fen'])}（年利率 {pension['interest_bp'] / 100:.2f}%）"),
        ("统筹基金转移额", f"¥{yuan(pension['pool_fen'])}（缴费基数的 {pension['pool_share_bp'] / 100:.2f}%）"),
        ("医疗保险缴费月数", str(medical["months"])),
        ("个人医疗账户余额", "¥" + yuan(medical["personal_fen"])),
        ("转移资金合计", "¥" + yuan(body["total_fen"])),
        ("电子凭证摘要 SHA-256", digest[:32]),
        ("", digest[32:]),
    ]
    for label, value in rows:
        pdf.cell(w=55, h=8, text=label, border=1)
        pdf.cell(w=0, h=8, text=value, border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(w=0, h=6, text="本凭证由转出地社会保险经办机构开具。参保人员到转入地经办机构申请转移接续时，"
                                  "请出示本凭证及电子凭证（JSON 文件）；转入地据电子凭证核验并发出联系函。")
    return bytes(pdf.output())
