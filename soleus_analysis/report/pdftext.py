"""Monospaced table text drawn in a PDF core font (Courier): no glyph layout, no embedding.

Laying out a TrueType font glyph by glyph is most of the time a long table takes to write to a
PDF (a meal-table page holds some 6,000 characters). Courier is one of the 14 fonts every PDF
reader has: matplotlib writes a line in it as one string, measured from the font's AFM metrics
and not embedded. Its advance (0.600 em) is that of DejaVu Sans Mono (0.602 em), so the columns
of a table sit where they do on screen. Anywhere else (Agg, the layout test, PNG) and for text
Courier cannot encode, the text is drawn as an ordinary :class:`~matplotlib.text.Text` in the
font it was given.
"""

from __future__ import annotations

import functools
from typing import Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.backends.backend_pdf import RendererPdf
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["CoreFontText", "core_font_text"]

#: the PDF core fonts of the normal and the bold monospaced table text
_COURIER = {"normal": ("Courier", "medium"), "bold": ("Courier", "bold")}


@functools.cache
def _courier_metrics(bold: bool) -> tuple[frozenset[str], float]:
    """The characters Courier (bold) can draw in a PDF (WinAnsi-encodable, with AFM
    metrics) and its line height in em (ascender + descender)."""
    from matplotlib._afm import AFM
    from matplotlib._mathtext_data import uni2type1

    family, weight = _COURIER["bold" if bold else "normal"]
    path = font_manager.findfont(
        font_manager.FontProperties(family=family, weight=weight),
        fontext="afm",
        directory=RendererPdf._afm_font_dir,
    )
    with open(path, "rb") as fh:
        afm = AFM(fh)
    chars = set("\n")
    for b in range(0x20, 0x100):
        try:
            c = bytes([b]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        name = uni2type1.get(ord(c), c if c.isascii() else "")
        if name in afm._metrics_by_name or (c == " " and "space" in afm._metrics_by_name):
            chars.add(c)
    return frozenset(chars), (afm.get_ascender() - afm.get_descender()) / 1000.0


@functools.cache
def _ttf_line_height(path: str) -> float:
    """Line height in em of a TrueType font as matplotlib lays out fixed-spacing text."""
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    table = font.get_sfnt_table("OS/2") or font.get_sfnt_table("hhea")
    em = font.get_sfnt_table("head")["unitsPerEm"]
    if "sTypoAscender" in table:
        return (table["sTypoAscender"] - table["sTypoDescender"]) / em
    return (table["ascent"] - table["descent"]) / em


def _pdf_renderer(renderer: Any) -> bool:
    """Whether ``renderer`` writes a PDF (matplotlib wraps it in a mixed-mode renderer)."""
    return isinstance(getattr(renderer, "_renderer", renderer), RendererPdf)


class CoreFontText(Text):
    """A monospaced :class:`~matplotlib.text.Text` drawn in Courier when written to a PDF.

    Everywhere else it is the text it was created as (DejaVu Sans Mono). In the PDF its lines
    keep their spacing (the line spacing is scaled by the ratio of the fonts' line heights)
    and its characters their width; text Courier cannot encode is drawn as usual.
    """

    def draw(self, renderer: Any) -> None:
        """Draw the text; in Courier when ``renderer`` writes a PDF and Courier can."""
        bold = self.get_fontweight() in ("bold", 700, "heavy", "black")
        chars, courier_em = _courier_metrics(bold)
        text = self.get_text()
        if not _pdf_renderer(renderer) or not set(text) <= chars or self.get_rotation():
            super().draw(renderer)
            return
        own_props, own_spacing = self._fontproperties, self._linespacing
        family, weight = _COURIER["bold" if bold else "normal"]
        props = own_props.copy()
        props.set_family(family)
        props.set_weight(weight)
        if isinstance(own_spacing, (int, float)):
            own_em = _ttf_line_height(font_manager.findfont(own_props))
            self._linespacing = own_spacing * own_em / courier_em
        self._fontproperties = props
        try:
            with mpl.rc_context({"pdf.use14corefonts": True}):
                super().draw(renderer)
        finally:
            self._fontproperties, self._linespacing = own_props, own_spacing


def core_font_text(fig: Figure, x: float, y: float, s: str, **kw: Any) -> CoreFontText:
    """Add ``s`` at ``(x, y)`` (figure fraction) as a :class:`CoreFontText`, as
    :meth:`matplotlib.figure.Figure.text` adds a text (drawn in the same order)."""
    text = CoreFontText(x, y, s, transform=fig.transSubfigure, **kw)
    text.set_figure(fig)
    fig.texts.append(text)
    return text
