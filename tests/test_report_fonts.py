"""The reports' copies of matplotlib's DejaVu fonts (report.fonts): the same glyphs, metrics
and character map as the fonts they copy, without the tables a PDF never reads."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure
from pypdf import PdfReader

from soleus_analysis.report import fonts

SOURCE = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def test_copies_keep_glyphs_metrics_and_cmap_and_drop_the_layout_tables(tmp_path):
    files = fonts.lite_font_files(tmp_path)
    assert len(files) == 6 and all(f.parent == tmp_path for f in files)
    for f in files:
        copy = TTFont(str(f))
        src = TTFont(str(SOURCE / f.name.replace("DejaVuSansReport", "DejaVuSans")))
        assert not set(fonts.DROPPED_TABLES) & set(copy.keys())
        assert copy.getGlyphOrder() == src.getGlyphOrder()
        assert copy["hmtx"].metrics == src["hmtx"].metrics
        assert copy.getBestCmap() == src.getBestCmap()
        # the legacy kerning the layout falls back to (the Sans fonts; Mono needs none)
        assert ("kern" in copy) == ("kern" in src) == ("Mono" not in f.name)
        if "kern" in src:
            assert copy["kern"].kernTables[0].kernTable == src["kern"].kernTables[0].kernTable
        family = copy["name"].getDebugName(1)
        assert family == (fonts.MONO if "Mono" in f.name else fonts.SANS)
    # made once: a second call finds them and rewrites nothing
    stamps = [f.stat().st_mtime_ns for f in files]
    assert [f.stat().st_mtime_ns for f in fonts.lite_font_files(tmp_path)] == stamps


def test_no_copies_where_they_cannot_be_written(tmp_path):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    assert fonts.lite_font_files(blocked) == []


def test_a_page_drawn_with_the_report_fonts_embeds_them_and_keeps_its_text():
    with fonts.report_fonts() as (sans, mono):
        fig = Figure(figsize=(4, 2))
        fig.text(0.1, 0.6, "Time in range 70–180 mg/dL: 61.7%", weight="bold")
        fig.text(0.1, 0.3, "meal  12:30  54 g", family=mono)
        buf = io.BytesIO()
        fig.savefig(buf, format="pdf")
    reader = PdfReader(io.BytesIO(buf.getvalue()))
    text = reader.pages[0].extract_text()
    assert "Time in range 70–180 mg/dL: 61.7%" in text and "meal  12:30  54 g" in text
    used = {
        str(v.get_object()["/BaseFont"]).split("+")[-1]
        for v in reader.pages[0]["/Resources"]["/Font"].values()
    }
    want = {sans.replace(" ", "") + "-Bold", mono.replace(" ", "")}
    assert used == want
