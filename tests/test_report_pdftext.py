"""The tables' line-by-line PDF text (report.pdftext) against matplotlib's own glyph layout."""

from __future__ import annotations

import io
import re
import warnings

import matplotlib as mpl
import pytest
from matplotlib.figure import Figure
from pypdf import PdfReader

from soleus_analysis.report import pdf, pdftext

CELLS = [
    ["2025-01-02 00:58", "pasta (big) …", "83", "SPU", "30", "98", "152", "4726", ""],
    ["2025-01-02 10:27", "yoghurt, jelly", "8", "no SPU", "0", "100", "148", "41", "too small"],
    ["2025-01-03 07:04", "", "–", "SPU", "8", "–", "158", "–", "no readings " * 6],
    ["2025-01-04 12:00", "pho 日本", "54", "SPU", "10", "90", "140", "300", ""],
]
HEADER = ["time", "food", "carbs g", "cond.", "SPU min", "baseline", "peak", "iAUC", "why"]
WIDTHS = [16, 20, 7, 6, 7, 8, 5, 6, 38]


def _page() -> Figure:
    fig = Figure(figsize=pdf.PAPER["a4"])
    pdf._table(
        fig,
        (pdf.LEFT, 0.2, 1 - 2 * pdf.LEFT, 0.7),
        HEADER,
        CELLS,
        WIDTHS,
        grey_rows=[False, True, False, False],
        fontsize=6.5,
        wrap_last=2,
    )
    return fig


def _written(fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, PdfReader]:
    monkeypatch.setattr(pdftext, "_FAST", fast)
    buf = io.BytesIO()
    with warnings.catch_warnings(), mpl.rc_context({"pdf.compression": 0}):
        warnings.simplefilter("ignore")  # the CJK glyphs DejaVu lacks
        _page().savefig(buf, format="pdf", metadata={"CreationDate": None})
    return buf.getvalue(), PdfReader(io.BytesIO(buf.getvalue()))


def test_table_lines_land_where_matplotlib_puts_them(monkeypatch):
    assert pdftext.fast_path_available()
    slow, slow_pdf = _written(False, monkeypatch)
    fast, fast_pdf = _written(True, monkeypatch)
    # every line starts at the same point, with the same text, in the same embedded fonts
    cm = re.compile(rb"^[-\d. ]+ cm$", re.M)
    assert cm.findall(fast) == cm.findall(slow)
    assert fast_pdf.pages[0].extract_text() == slow_pdf.pages[0].extract_text()
    fonts = [
        sorted(
            str(f.get_object()["/BaseFont"]).split("+")[-1]
            for f in r.pages[0]["/Resources"]["/Font"].values()
        )
        for r in (slow_pdf, fast_pdf)
    ]
    assert fonts[0] == fonts[1]
    assert {"DejaVuSansMono", "DejaVuSansMonoReport"} & set(fonts[0])  # report.fonts' copy

    # the glyphs after the first advance as matplotlib's kerns place them: one character
    # spacing instead of a kern between every two glyphs
    def kerns(stream: bytes) -> set[float]:
        return {float(k) for k in re.findall(rb"\) (-?[\d.]+) \(", stream)}

    (spacing,) = {float(k) for k in re.findall(rb"^(-?[\d.]+) Tc$", fast, re.M)}
    assert -1000 * spacing / 6.5 == pytest.approx(max(kerns(slow)))
    # the line with glyphs the font lacks is drawn by matplotlib, from its fallback
    assert b"Tj" in fast and b"TJ" in fast


def test_line_metrics_are_freetype_s(monkeypatch):
    """Each line's width, height and descent as matplotlib measures it for the PDF."""
    from matplotlib.backends.backend_pdf import PdfFile, RendererPdf
    from matplotlib.font_manager import FontProperties

    renderer = RendererPdf(PdfFile(io.BytesIO()), 72, 11.69, 8.27)
    lines = pdftext._LineRenderer(renderer)
    prop = FontProperties(family="DejaVu Sans Mono", size=6.5)
    for s in [" ", "-", "- -", "g(", "2025-01-02 00:58  pasta …", "x" * 129, "–'\"_"]:
        got = lines.get_text_width_height_descent(s, prop, False)
        assert got == pytest.approx(renderer.get_text_width_height_descent(s, prop, False))


def test_internals_called_otherwise_fall_back_to_matplotlib(monkeypatch):
    """A matplotlib whose glyph tracker is called otherwise: every line drawn by matplotlib,
    the same page as the reference path, and no error."""
    slow, slow_pdf = _written(False, monkeypatch)

    def changed(*args, **kwargs):
        raise TypeError("track_glyph() takes 3 positional arguments")

    monkeypatch.setattr(pdftext._LineRenderer, "_codes", changed)
    fast, fast_pdf = _written(True, monkeypatch)
    assert b"Tc" not in fast  # no line written by the line-by-line path
    assert fast_pdf.pages[0].extract_text() == slow_pdf.pages[0].extract_text()
