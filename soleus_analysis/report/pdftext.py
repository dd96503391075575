"""Monospaced table text written to a PDF line by line, not glyph by glyph.

Laying out a TrueType font glyph by glyph (shaping each line, loading each glyph's outline,
tracking and writing each glyph) is most of the time a long table takes to write to a PDF: a
meal-table page holds some 6,000 characters. In a monospaced font without kerning nothing of
that layout is needed: every glyph advances the same width. :class:`MonoText` measures its lines
from each character's box (looked up once per font and size) and writes each line as one
string of glyph codes of the same embedded DejaVu Sans Mono subset, at the positions
matplotlib's own layout gives (``tests/test_report_pdftext.py`` compares both).

Anywhere else (Agg: the layout test, PNGs), for a character the font lacks, for rotated text
and when matplotlib's PDF internals are not what this module expects (missing, or called
otherwise: checked at import and again before anything of a line is written), the text is
drawn by :class:`matplotlib.text.Text` itself.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.backends import backend_pdf
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.text import Text

__all__ = ["MonoText", "mono_text", "fast_path_available"]

#: per (font file, size in points): character -> (glyph index, lowest and highest y of its box
#: and advance in 26.6 fixed point, exact advance in 16.16); the space's box is the point
#: (0, 0), as FreeType gives it
_GLYPHS: dict[tuple[str, float], dict[str, tuple[int, int, int, int, int]]] = {}


def fast_path_available() -> bool:
    """Whether matplotlib's PDF renderer has what the line-by-line path uses (else every
    :class:`MonoText` is drawn as an ordinary text)."""
    r = backend_pdf.RendererPdf
    return all(hasattr(r, name) for name in ("check_gc", "_get_font_ttf")) and all(
        hasattr(backend_pdf, name) for name in ("pdfRepr", "FontPath", "PdfFile")
    )


_FAST = fast_path_available()


def _glyph(font: FT2Font, size: float, c: str) -> tuple[int, int, int, int, int] | None:
    """Glyph index and y extent (26.6) of ``c`` in ``font`` at ``size``; None when the font
    has no glyph for it (matplotlib would draw it from a fallback font)."""
    table = _GLYPHS.setdefault((font.fname, size), {})
    got = table.get(c)
    if got is None:
        index = font.get_char_index(ord(c))
        if not index:
            return None
        font.set_size(size, 72)
        glyph = font.load_char(ord(c), flags=LoadFlags.NO_HINTING)
        box = glyph.bbox
        got = table[c] = (index, box[1], box[3], glyph.horiAdvance, glyph.linearHoriAdvance)
    return got


class _LineRenderer:
    """The PDF renderer as one :class:`MonoText` sees it: its lines measured and drawn whole.

    Everything else is the renderer's own (the attributes are looked up on it).
    """

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer
        self._pdf = getattr(renderer, "_renderer", renderer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._renderer, name)

    def _glyphs(
        self, s: str, prop: Any
    ) -> tuple[FT2Font, list[tuple[int, int, int, int, int]]] | None:
        font = self._pdf._get_font_ttf(prop)
        size = prop.get_size_in_points()
        out = []
        for c in s:
            g = _glyph(font, size, c)
            if g is None:
                return None
            out.append(g)
        if out and any(g[3:] != out[0][3:] for g in out):
            return None  # not monospaced after all: matplotlib lays it out
        return font, out

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> tuple:
        """Width, height and descent (points) of one line, as FreeType's layout gives them
        for a monospaced font: advances summed, the union of the glyphs' boxes."""
        got = None if ismath else self._glyphs(s, prop)
        if got is None or not s:
            return self._renderer.get_text_width_height_descent(s, prop, ismath)
        _, glyphs = got
        width = sum(g[3] for g in glyphs)
        lo = min(g[1] for g in glyphs)
        hi = max(g[2] for g in glyphs)
        return width / 64, (hi - lo) / 64, -lo / 64

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        """Write one line as one string of glyph codes (or let matplotlib draw it)."""
        got = None if (ismath or angle or gc.get_url() is not None) else self._glyphs(s, prop)
        pdf = self._pdf
        try:  # matplotlib's PDF internals as this module knows them; nothing written yet
            codes = None if got is None else self._codes(*got, s)
            if codes is not None:
                font, glyphs = got[0], got[1]
                name = pdf.file.fontName(backend_pdf.FontPath(font.fname, font.face_index), 0)
        except (AttributeError, TypeError, ValueError):  # other internals: matplotlib draws it
            codes = None
        if codes is None:
            self._renderer.draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
            return
        pdf.check_gc(gc, gc._rgb)
        # what matplotlib writes for a line (its operators in one write, the glyphs as one
        # hex string); it places glyph i at i times the advance rounded to 1/64 pt and
        # corrects the embedded width, the exact advance, by a kern between every two glyphs:
        # here the same correction as one character spacing (Tc)
        rep = backend_pdf.pdfRepr
        matrix = (math.cos(0.0), math.sin(0.0), -math.sin(0.0), math.cos(0.0), x, y)
        spacing = glyphs[0][3] / 64 - glyphs[0][4] / 65536
        lines = (
            b"q",
            b" ".join(map(rep, matrix)) + b" cm",
            b"BT",
            rep(name) + b" " + rep(prop.get_size_in_points()) + b" Tf",
            b"0 0 Td",
            rep(spacing) + b" Tc",
            b"<" + codes.hex().encode("ascii") + b"> Tj",
            b"ET",
            b"Q",
            b"",
        )
        pdf.file.write(b"\n".join(lines))

    def _codes(
        self, font: FT2Font, glyphs: list[tuple[int, int, int, int, int]], s: str
    ) -> bytes | None:
        """The line's 2-byte codes in the font's first subset, every glyph recorded for the
        subset embedded; None when a glyph falls in another subset."""
        tracker = self._pdf.file._character_tracker
        seen = tracker.__dict__.setdefault("_soleus_mono", {})
        codes = bytearray()
        for c, g in zip(s, glyphs, strict=True):
            key = (font.fname, c)
            code = seen.get(key)
            if code is None:
                subset, code = tracker.track_glyph(font, c, g[0])
                if subset != 0:
                    return None
                seen[key] = code
            codes += code.to_bytes(2, "big")
        return bytes(codes)


class MonoText(Text):
    """A monospaced :class:`~matplotlib.text.Text` written to PDFs line by line.

    Anywhere but a PDF it is an ordinary text. The PDF gets the same glyphs of the same
    embedded font at the same places.
    """

    def draw(self, renderer: Any) -> None:
        """Draw the text; line by line when ``renderer`` writes a PDF."""
        pdf = getattr(renderer, "_renderer", renderer)
        if not _FAST or not isinstance(pdf, backend_pdf.RendererPdf) or self.get_rotation():
            super().draw(renderer)
            return
        try:
            super().draw(_LineRenderer(renderer))
        finally:
            self._renderer = renderer


def mono_text(fig: Figure, x: float, y: float, s: str, **kw: Any) -> MonoText:
    """Add ``s`` at ``(x, y)`` (figure fraction) as a :class:`MonoText`, as
    :meth:`matplotlib.figure.Figure.text` adds a text (drawn in the same order)."""
    text = MonoText(x, y, s, transform=fig.transSubfigure, **kw)
    text.set_figure(fig)
    fig.texts.append(text)
    return text
