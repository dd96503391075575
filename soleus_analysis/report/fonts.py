"""The report's fonts: matplotlib's own DejaVu Sans and Sans Mono, without the tables a PDF
never uses.

Closing a report's PDF embeds a subset of every font it used, and fontTools spends most of
that subsetting the OpenType layout tables (``GSUB``, ``GPOS``, ``GDEF``) and the ``MATH``
table: about 0.2 s a font, six fonts a report. A PDF viewer never reads those tables (the
PDF places every glyph itself). :func:`report_fonts` therefore makes, once, copies of the
DejaVu fonts bundled with matplotlib without them, under family names of their own
(:data:`SANS`, :data:`MONO`), in matplotlib's cache folder, and the reports draw with those:
the same glyph outlines, glyph order, character map and advance widths. Text is then laid
out with the legacy ``kern`` table the Sans fonts also carry (the same pairs), and without
the ``mark`` positioning of combining accents (the tables' and text blocks' text is
NFC-composed first, so an accented letter is one glyph where Unicode has one). Subsetting
one then takes about a tenth of the time.

When the copies cannot be made (a read-only cache, a matplotlib without the DejaVu files)
the reports use matplotlib's DejaVu fonts as they are; nothing else changes.

The DejaVu fonts' licence (Bitstream Vera's, and public domain for the DejaVu changes)
allows modified copies under a name without "Bitstream" or "Vera"; the copies are named
"DejaVu Sans Report" and "DejaVu Sans Mono Report" and are never distributed by this package.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from ..core.outputs import atomic_target

__all__ = ["SANS", "MONO", "DROPPED_TABLES", "lite_font_files", "mono_family", "report_fonts"]

#: family names of the reports' copies of DejaVu Sans and DejaVu Sans Mono
SANS = "DejaVu Sans Report"
MONO = "DejaVu Sans Mono Report"
#: font tables left out of the copies (none is read by a PDF viewer)
DROPPED_TABLES = ("GSUB", "GPOS", "GDEF", "MATH", "FFTM")
#: matplotlib's bundled font files copied, with the family each copy is named
_SOURCES = {
    "DejaVuSans.ttf": SANS,
    "DejaVuSans-Bold.ttf": SANS,
    "DejaVuSans-Oblique.ttf": SANS,
    "DejaVuSans-BoldOblique.ttf": SANS,
    "DejaVuSansMono.ttf": MONO,
    "DejaVuSansMono-Bold.ttf": MONO,
}


def _rename(font: object, family: str, source_family: str) -> None:
    """Name a copy ``family`` wherever the name table names the source's family."""
    for rec in font["name"].names:  # type: ignore[index]
        if rec.nameID not in (1, 3, 4, 6, 16):
            continue
        text = rec.toUnicode()
        if rec.nameID == 6:  # PostScript name: no spaces
            new = text.replace(source_family.replace(" ", ""), family.replace(" ", ""))
        else:
            new = text.replace(source_family, family)
        rec.string = new


def _make_copy(source: Path, target: Path, family: str) -> None:
    """Write ``source`` without :data:`DROPPED_TABLES`, renamed ``family``, to ``target``."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(source))
    for tag in DROPPED_TABLES:
        if tag in font:
            del font[tag]
    _rename(font, family, "DejaVu Sans Mono" if "Mono" in family else "DejaVu Sans")
    with atomic_target(target, "font") as tmp:
        font.save(str(tmp))


def lite_font_files(folder: Path | None = None) -> list[Path]:
    """The copies (made when missing), or an empty list when they cannot be made.

    Parameters
    ----------
    folder : Path, optional
        Where the copies live; default a folder in matplotlib's cache named for the matplotlib
        and fontTools versions and the source files' sizes (so an upgrade makes new copies).
    """
    source_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    sources = {name: source_dir / name for name in _SOURCES}
    if not all(p.is_file() for p in sources.values()):
        return []
    try:
        import fontTools
        from fontTools.ttLib import TTLibError
    except ImportError:  # pragma: no cover - matplotlib requires fontTools
        return []
    if folder is None:
        key = "|".join(
            [matplotlib.__version__, fontTools.version]
            + [f"{n}:{p.stat().st_size}" for n, p in sources.items()]
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        folder = Path(matplotlib.get_cachedir()) / f"soleus_report_fonts_{digest}"
    out = []
    try:
        for name, src in sources.items():
            target = folder / name.replace("DejaVuSans", "DejaVuSansReport")
            if not target.is_file():
                _make_copy(src, target, _SOURCES[name])
            out.append(target)
    except (OSError, ValueError, KeyError, TTLibError):  # matplotlib's own fonts, then
        return []
    return out


@functools.cache
def _families() -> tuple[str, str]:
    """(sans, mono) family names the reports draw with; the copies registered on first call."""
    files = lite_font_files()
    if not files:
        return ("DejaVu Sans", "DejaVu Sans Mono")
    for f in files:
        font_manager.fontManager.addfont(str(f))
    return (SANS, MONO)


def mono_family() -> str:
    """The monospaced family of the reports' tables."""
    return _families()[1]


@contextlib.contextmanager
def report_fonts() -> Iterator[tuple[str, str]]:
    """Draw and save inside this block with the reports' fonts; yields (sans, mono)."""
    sans, mono = _families()
    rc = {
        "font.family": ["sans-serif"],
        "font.sans-serif": [sans, "DejaVu Sans"],
        "font.monospace": [mono, "DejaVu Sans Mono"],
    }
    with matplotlib.rc_context(rc):
        yield sans, mono
