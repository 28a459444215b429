"""The printed proof: one A4 page in Chinese, drawn with ReportLab, its QR code made with segno.

The font is ReportLab's built-in ``STSong-Light`` CID font (Adobe-GB1): PDF readers supply the glyphs, so
nothing is downloaded or embedded. The QR code is a PNG image in the page (so the page's own bytes carry it and
it can be decoded from the file); the statement is also printed beside it in small type and kept in the PDF's
``Subject``, so :func:`volreg.verify_proof` can read it from the file without decoding an image.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependency
from ..text import hours_text

if TYPE_CHECKING:
    from ..model.proofs import Proof

__all__ = ["render_pdf", "qr_png", "FONT"]

FONT = "STSong-Light"
"""The CJK font every text on the page uses."""

_STAMPS = {"superseded": "已失效（记录已更正）", "revoked": "已撤销"}


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """A QR code (error correction M) holding ``text`` as UTF-8, as PNG bytes.

    Raises:
        MissingDependency: segno is not installed.
    """
    try:
        import segno
    except ImportError:
        raise MissingDependency("segno", "proofs") from None
    buffer = io.BytesIO()
    segno.make_qr(text, error="m", boost_error=False, encoding="utf-8").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def _day(value: Any) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def render_pdf(proof: Proof, path: str | os.PathLike[str]) -> Path:
    """Write ``proof`` as an A4 PDF page at ``path`` (see the module docstring).

    Raises:
        MissingDependency: reportlab or segno is not installed.
    """
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.lib.utils import ImageReader
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen import canvas
        from reportlab.platypus import Paragraph, Table, TableStyle
    except ImportError:
        raise MissingDependency("reportlab", "proofs") from None
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    statement = proof.statement
    png = qr_png(statement)
    target = Path(path)
    width, height = A4
    margin = 22 * mm
    page = canvas.Canvas(str(target), pagesize=A4)
    page.setTitle(f"志愿服务记录证明 {proof.number}")
    page.setAuthor(proof.organisation_name)
    page.setSubject(statement)
    page.setCreator("volreg")

    page.setFont(FONT, 10)
    page.drawRightString(width - margin, height - 18 * mm, f"证明编号：{proof.number}")
    page.setFont(FONT, 24)
    page.drawCentredString(width / 2, height - 38 * mm, "志愿服务记录证明")

    body = ParagraphStyle("body", fontName=FONT, fontSize=12.5, leading=23, wordWrap="CJK", firstLineIndent=25)
    small = ParagraphStyle("small", fontName=FONT, fontSize=6.5, leading=8, wordWrap="CJK")
    note = ParagraphStyle("note", fontName=FONT, fontSize=8.5, leading=12, wordWrap="CJK")
    identity = f"身份证件号码：{proof.id_masked}；" if proof.id_masked else ""
    text = (
        f"兹证明 <b>{_escape(proof.name or proof.name_masked)}</b>（{identity}志愿者编号：{proof.volunteer_number}）"
        f"于 {_day(proof.period_start)} 至 {_day(proof.period_end)} 期间，参加由 {_escape(proof.organisation_name)} "
        f"组织的志愿服务活动，经本单位核实的志愿服务时间共计 <b>{hours_text(proof.minutes)}</b>"
        f"（{proof.minutes} 分钟，合 {proof.hours:.2f} 小时）。具体如下："
    )
    y = height - 52 * mm
    paragraph = Paragraph(text, body)
    _, used = paragraph.wrap(width - 2 * margin, height)
    paragraph.drawOn(page, margin, y - used)
    y -= used + 8 * mm

    rows: list[list[str]] = [["服务类别", "记录数", "服务时间", "小时数"]]
    rows += [[line.label or "（未分类）", str(line.records), hours_text(line.minutes), f"{line.hours:.2f}"]
             for line in proof.lines]
    rows.append(["合计", str(sum(line.records for line in proof.lines)), hours_text(proof.minutes),
                 f"{proof.hours:.2f}"])
    table = Table(rows, colWidths=[62 * mm, 24 * mm, 50 * mm, 30 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 11),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    _, used = table.wrap(width - 2 * margin, height)
    table.drawOn(page, margin, y - used)
    y -= used + 9 * mm

    page.setFont(FONT, 12.5)
    if proof.purpose:
        page.drawString(margin, y, f"用途：{proof.purpose}")
        y -= 8 * mm
    page.drawString(margin + 25, y, "特此证明。")

    # The issuer's block and the place for the seal, lower right.
    right = width - margin
    base = 92 * mm
    page.setFont(FONT, 12.5)
    page.drawRightString(right, base + 22 * mm, f"出具单位（盖章）：{proof.organisation_name}")
    page.drawRightString(right, base + 13 * mm, f"经办人：{proof.issued_by}")
    page.drawRightString(right, base + 4 * mm, f"出具日期：{_day(proof.issued_on)}")
    page.saveState()
    page.setStrokeColor(colors.HexColor("#b0b0b0"))
    page.setDash(3, 3)
    page.circle(right - 28 * mm, base + 17 * mm, 20 * mm)
    page.setFillColor(colors.HexColor("#b0b0b0"))
    page.setFont(FONT, 9)
    page.drawCentredString(right - 28 * mm, base + 30 * mm, "（盖章处）")
    page.restoreState()

    # The QR code with the signed statement, lower left, and the statement itself beside it.
    side = 46 * mm
    bottom = 30 * mm
    page.drawImage(ImageReader(io.BytesIO(png)), margin, bottom, side, side)
    page.setFont(FONT, 9)
    page.drawString(margin, bottom - 5 * mm, "扫码核验（离线验证签名）")
    beside = Paragraph(_escape(statement), small)
    room = width - 2 * margin - side - 6 * mm
    _, used = beside.wrap(room, side)
    beside.drawOn(page, margin + side + 6 * mm, bottom + side - used)
    how = Paragraph(
        f"核验方法：用出具单位公布的公钥（密钥编号 {proof.key_id}）验证二维码中的签名声明，例如 "
        f"volreg proof verify 本文件 --public-key 公钥文件。声明中的编号、姓名（部分隐去）、证件号码（部分隐去）、"
        f"出具单位、起止日期、总分钟数与出具日期须与本页一致。", note)
    _, used2 = how.wrap(room, side)
    how.drawOn(page, margin + side + 6 * mm, bottom + side - used - 4 * mm - used2)

    page.setStrokeColor(colors.black)
    page.line(margin, 18 * mm, width - margin, 18 * mm)
    page.setFont(FONT, 8)
    page.drawString(margin, 13 * mm, "本证明依据《志愿服务记录与证明出具办法》由记录单位免费出具，内容以志愿服务信息系统中经核实的记录为准。")

    stamp = _STAMPS.get(proof.status)
    if stamp:
        page.saveState()
        page.setFillColor(colors.Color(0.8, 0, 0, alpha=0.35))
        page.setFont(FONT, 56)
        page.translate(width / 2, height / 2)
        page.rotate(30)
        page.drawCentredString(0, 0, stamp)
        page.restoreState()
    page.showPage()
    page.save()
    return target


def _escape(text: str) -> str:
    """Text for a ReportLab paragraph, whose markup is XML-like."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
