"""QR door labels (门牌二维码) for a building: one per household's door, and one for the building's entrance,
each opening the resident's report page (`/r/<code>`, gridops.incidents.doors) at the service's public address.

A street office prints them: a PDF of A4 sheets, 3 × 4 labels a sheet with cut lines, each label the QR code,
the address and door in Chinese, the code in plain letters (a worker can type it when a label is scratched),
and the grid and its worker at printing time. One door's label can be printed again alone (`door=`), as a PDF
or a PNG (the QR code with its code under it, for a notice or a chat group).

The QR codes are segno's; the PDF is drawn with reportlab, each dark module a rectangle (no image, so the code
is as sharp as the printer), the Chinese in reportlab's built-in STSong-Light: a CID font every PDF reader
supplies (Adobe-GB1), so no font file ships with gridops and a sheet is a few kilobytes. What the label encodes
never changes (the door's code); the worker's name printed under it may, and a label is reprinted then.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import segno
from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.boundaries.areas import area_names
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.registers import buildings, households, people

FORMATS = ("pdf", "png")
QR_ERROR = "m"  # 15% of the code may be scratched off; boosted when that costs no size
# A4 in millimetres, 3 × 4 labels inside margins most printers can print to
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 8.0
COLUMNS, ROWS = 3, 4
QR_MM = 42.0  # with its quiet zone of four modules: the code itself is about 34 mm, a phone reads it from 40 cm
CHINESE_FONT = "STSong-Light"


@dataclass(frozen=True)
class Label:
    """One label: the code it encodes, the URL, and the lines printed around the QR code."""

    code: str
    url: str
    place: str  # the building as residents name it
    door: str  # 2单元 503室, or 楼栋入口 for the entrance
    grid: str  # 网格 … · 网格员 …

    def qr(self) -> segno.QRCode:
        """The QR code of the label's URL (tests compare its module matrix)."""
        return qr_code(self.url)


@dataclass(frozen=True)
class LabelSheet:
    building: str
    title: str
    labels: list[Label]


def qr_code(url: str) -> segno.QRCode:
    """The QR code a label carries for `url` (one rule for the PDF, the PNG and the tests)."""
    return segno.make(url, error=QR_ERROR, boost_error=True)


def door_text(unit: str | None, floor: int | None, room: str | None) -> str:
    """A door as residents say it: 2单元 503室 (the floor is in the room number)."""
    parts = [f"{unit}单元" if unit else "", f"{room}室" if room else (f"{floor}层" if floor is not None else "")]
    return " ".join(p for p in parts if p) or "住户"


def building_labels(session: Session, ctx: Context, who: Principal | None, code: str, link: Callable[[str], str], *,
                    door: str | None = None, entrance: bool = True) -> LabelSheet:
    """The labels of a building that `who` keeps (planners and admins every building, a community admin those of
    their ground): its entrance's (unless `entrance` is false) and each household's door, in the order of the
    building's page; or only `door`'s. `link` makes a code's URL (the service's public address + /r/<code>)."""
    b = buildings.get_building(session, ctx, code)
    if b["demolished_at"]:
        raise Conflict(Say("building %(code)s was demolished on %(value)s: its doors take no reports.",
                           code=code, value=str(b['demolished_at'])[:10]), field="code")
    buildings.may_keep(who, buildings.Placed(ctx.geocoder.primary_layer, b["grid"], ()))
    place = b["name"] or b["address"] or b["code"]
    grid = _grid_line(session, ctx, b["grid"])
    doors = households.of_building(session, b["code"], limit=buildings.MAX_HOUSEHOLDS)
    found: list[Label] = []
    if entrance or door == b["code"]:
        found.append(Label(b["code"], link(b["code"]), place, "楼栋入口", grid))
    found += [Label(h["code"], link(h["code"]), place, door_text(h["unit"], h["floor"], h["room"]), grid) for h in doors]
    if door is not None:
        found = [label for label in found if label.code == door]
        if not found:
            raise NotFound(Say("building %(code)s has no door with the code %(door)r.", code=code, door=door), field="door")
    return LabelSheet(b["code"], f"{place} 门牌二维码", found)


def _grid_line(session: Session, ctx: Context, grid: str | None) -> str:
    """The grid and whoever answers for it today, as printed under the code."""
    if grid is None:
        return ""
    name = area_names(session, ctx.geocoder.primary_layer, [grid]).get(grid, grid)
    workers = [a["name"] for a in people.answered_for(session, grid, clock.now(), ctx.geocoder.primary_layer) if a["duty"] == "primary"]
    return f"{name} · 网格员 {workers[0]}" if workers else name


def render(sheet: LabelSheet, fmt: str) -> bytes:
    """The sheet as a file: a PDF of A4 pages, or (one label) a PNG."""
    if fmt == "pdf":
        return labels_pdf(sheet)
    if fmt == "png":
        if len(sheet.labels) != 1:
            raise InvalidParameter("door", Say("a PNG holds one label: name its door (door=CODE); the PDF holds the whole building."))
        return label_png(sheet.labels[0])
    raise InvalidParameter("format", Say("format is one of %(formats)s; got %(fmt)r.", formats=', '.join(FORMATS), fmt=fmt),
                           allowed=list(FORMATS))


def _runs(row: Any) -> Iterator[tuple[int, int]]:
    """The dark runs of one row of modules: (first column, length), so a row is a few rectangles, not dozens."""
    start = None
    for x, dark in enumerate(row):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            yield start, x - start
            start = None
    if start is not None:
        yield start, len(row) - start


def labels_pdf(sheet: LabelSheet) -> bytes:
    """A4 sheets of labels with light cut lines; the QR codes drawn as vectors."""
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=(PAGE_W * mm, PAGE_H * mm), invariant=True, pageCompression=1)
    pdf.setTitle(sheet.title)
    pdf.setAuthor("gridops")
    pdf.setSubject(f"QR door labels of building {sheet.building}")
    w = (PAGE_W - 2 * MARGIN) / COLUMNS
    h = (PAGE_H - 2 * MARGIN) / ROWS
    per_page = COLUMNS * ROWS
    for k, label in enumerate(sheet.labels):
        if k and k % per_page == 0:
            pdf.showPage()
        col, row = k % COLUMNS, (k % per_page) // COLUMNS
        x0 = (MARGIN + col * w) * mm
        top = (PAGE_H - MARGIN - row * h) * mm
        _cut_lines(pdf, x0, top - h * mm, w * mm, h * mm)
        _label(pdf, label, x0, top, w * mm, h * mm)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _cut_lines(pdf: Any, x: float, y: float, w: float, h: float) -> None:
    pdf.saveState()
    pdf.setStrokeGray(0.75)
    pdf.setLineWidth(0.3)
    pdf.setDash(2, 2)
    pdf.rect(x, y, w, h, stroke=1, fill=0)
    pdf.restoreState()


def _fit(pdf: Any, text: str, font: str, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits `width` (a long address shrinks, never overflows)."""
    while size > 5 and pdf.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _label(pdf: Any, label: Label, x0: float, top: float, w: float, h: float) -> None:
    from reportlab.lib.units import mm

    centre = x0 + w / 2
    inner = w - 6 * mm
    pdf.setFillGray(0)
    pdf.setFont(CHINESE_FONT, 11)
    pdf.drawCentredString(centre, top - 6.5 * mm, "扫码上报 · 码上服务")
    pdf.setFont("Helvetica", 6.5)
    pdf.drawCentredString(centre, top - 9.5 * mm, "Scan to report a problem here")
    # the QR code: its modules (with a quiet zone of four on each side) as rectangles
    qr = label.qr()
    rows = [list(r) for r in qr.matrix_iter(scale=1, border=4)]
    n = len(rows)
    module = QR_MM * mm / n
    qx, qy = centre - QR_MM * mm / 2, top - 10 * mm
    path = pdf.beginPath()
    for r, cells in enumerate(rows):
        for start, length in _runs(cells):
            path.rect(qx + start * module, qy - (r + 1) * module, length * module, module)
    pdf.drawPath(path, stroke=0, fill=1)
    y = qy - QR_MM * mm - 3.5 * mm
    size = _fit(pdf, label.place, CHINESE_FONT, 10, inner)
    pdf.setFont(CHINESE_FONT, size)
    pdf.drawCentredString(centre, y, label.place)
    y -= 5 * mm
    size = _fit(pdf, label.door, CHINESE_FONT, 13, inner)
    pdf.setFont(CHINESE_FONT, size)
    pdf.drawCentredString(centre, y, label.door)
    y -= 3.8 * mm
    size = _fit(pdf, label.code, "Courier", 8, inner)
    pdf.setFont("Courier", size)
    pdf.drawCentredString(centre, y, label.code)
    if label.grid:
        y -= 3.5 * mm
        size = _fit(pdf, label.grid, CHINESE_FONT, 7, inner)
        pdf.setFont(CHINESE_FONT, size)
        pdf.drawCentredString(centre, y, label.grid)


def label_png(label: Label, scale: int = 10) -> bytes:
    """One label as a PNG: the QR code, and its door code in plain letters under it (Pillow's own font has no
    Chinese, and the code is what a worker types when a label cannot be scanned)."""
    from PIL import Image, ImageDraw, ImageFont

    qr = io.BytesIO()
    label.qr().save(qr, kind="png", scale=scale, border=4)
    qr.seek(0)
    code = Image.open(qr).convert("L")
    font = ImageFont.load_default(size=max(12, scale * 3))
    box = ImageDraw.Draw(code).textbbox((0, 0), label.code, font=font)
    text_w, text_h = int(box[2] - box[0]), int(box[3] - box[1])
    width = max(code.width, text_w + 4 * scale)
    image = Image.new("L", (width, code.height + text_h + 2 * scale), 255)
    image.paste(code, ((width - code.width) // 2, 0))
    ImageDraw.Draw(image).text(((width - text_w) // 2, code.height - box[1]), label.code, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
