"""Official documents as PDF (A4): title, number, the recipient, the project's fields, the text with its listed
items (what to correct), issuer and date, a verification box with the code, the public URL and its QR code, and
an appendix (every department's decision on a permit).

Chinese uses reportlab's built-in STSong-Light CID font (Adobe-GB1; the reader supplies the glyphs), so nothing
depends on the fonts installed on the server. `invariant` makes the bytes depend only on the content.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing

CJK = "STSong-Light"
MONO = "Courier-Bold"


@dataclass(frozen=True)
class OfficialDocument:
    title: str
    number: str
    issuer: str
    issued_on: date
    verification_code: str
    verify_url: str
    recipient: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    items_title: str | None = None
    items: list[str] = field(default_factory=list)  # part of the text (e.g. what to correct)
    remark: str | None = None
    appendix_title: str | None = None
    appendix: list[str] = field(default_factory=list)  # after the verification box (e.g. every decision)


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _qr(url: str, size: float) -> Drawing:
    from reportlab.graphics.barcode.qr import QrCodeWidget

    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def render(doc: OfficialDocument) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    body = ParagraphStyle("body", fontName=CJK, fontSize=11.5, leading=19, wordWrap="CJK", firstLineIndent=23)
    plain = ParagraphStyle("plain", parent=body, firstLineIndent=0)
    small = ParagraphStyle("small", parent=plain, fontSize=9.5, leading=14, textColor=colors.HexColor("#444444"))
    title = ParagraphStyle("title", fontName=CJK, fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=4)
    number = ParagraphStyle("number", parent=plain, alignment=TA_CENTER, fontSize=11)
    right = ParagraphStyle("right", parent=plain, alignment=2)

    def p(text: str, style: ParagraphStyle = plain) -> Paragraph:
        return Paragraph(escape(text), style)

    story: list[object] = [p(doc.title, title), p(f"编号：{doc.number}", number), Spacer(1, 8 * mm)]
    if doc.recipient:
        story += [p(f"{doc.recipient}："), Spacer(1, 2 * mm)]
    if doc.fields:
        grid = Table([[p(label), p(value)] for label, value in doc.fields], colWidths=[38 * mm, 122 * mm])
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
                                  ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f1f3f6")),
                                  ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story += [grid, Spacer(1, 5 * mm)]
    story += [p(text, body) for text in doc.paragraphs]
    if doc.items:
        story += [Spacer(1, 3 * mm), p(doc.items_title or "", plain)]
        story += [p(f"{i}. {item}", small) for i, item in enumerate(doc.items, 1)]
    story += [Spacer(1, 8 * mm), p(doc.issuer, right),
              p(f"{doc.issued_on.year}年{doc.issued_on.month}月{doc.issued_on.day}日", right), Spacer(1, 8 * mm)]
    check = [Paragraph(f'验证码：<font name="{MONO}" size="13">{escape(doc.verification_code)}</font>', plain),
             p("核验方式：扫描二维码，或登录以下网址输入验证码：", small),
             Paragraph(f'<font name="Courier" size="9">{escape(doc.verify_url)}</font>', small)]
    if doc.remark:
        check.append(p(doc.remark, small))
    box = Table([[check, _qr(doc.verify_url, 28 * mm)]], colWidths=[128 * mm, 32 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#1d4f91")),
                             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story.append(box)
    if doc.appendix:
        story += [Spacer(1, 6 * mm), p(doc.appendix_title or "", plain)]
        story += [p(f"{i}. {item}", small) for i, item in enumerate(doc.appendix, 1)]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, title=f"{doc.title} {doc.number}",
                                 author=doc.issuer, subject=doc.title, creator="approvals",
                                 leftMargin=25 * mm, rightMargin=25 * mm, topMargin=22 * mm, bottomMargin=20 * mm)
    template.build(story)
    return buffer.getvalue()
