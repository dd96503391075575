"""A header that repeats a column name: a clear ``InputError`` naming the column when the
reader uses that column (it crashed with ``AttributeError`` in the FreeStyle Libre desktop
reader), never another exception; every header cell of each text-column reader's fixtures is
repeated in turn over its right-hand neighbour."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import soleus_analysis as sa
from soleus_analysis.core.errors import InputError

FIX = Path(__file__).parent / "fixtures"
#: fixture -> whether its reader keeps the header's names as they are (so a repeated name
#: of a column it uses must be refused); the others tell repeated names apart themselves
FILES = {
    "dexcom/clarity_13col.csv": False,
    "dexcom/g7_mmol_quoted.csv": False,
    "libreview/libre_desktop_es.txt": True,
    "libreview/libre_desktop_en.txt": True,
    "libreview/libreview_de.csv": False,
}


def _header_line(lines: list[str]) -> int:
    """The line with the most delimiters among the first five (the header)."""
    return max(range(min(5, len(lines))), key=lambda i: max(lines[i].count(d) for d in ",;\t"))


@pytest.mark.parametrize(("name", "names_as_written"), FILES.items())
def test_a_repeated_column_name_is_an_input_error_or_read(name, names_as_written, tmp_path):
    text = (FIX / name).read_text(encoding="utf-8-sig")
    lines = text.split("\n")
    h = _header_line(lines)
    delim = max(",;\t", key=lines[h].count)
    cells = next(csv.reader(io.StringIO(lines[h]), delimiter=delim))
    refused = 0
    for i in range(len(cells) - 1):
        if not cells[i].strip():
            continue
        c = cells[:]
        c[i + 1] = c[i]
        out = io.StringIO()
        csv.writer(out, delimiter=delim, lineterminator="").writerow(c)
        mutant = tmp_path / f"dup{i}{Path(name).suffix}"
        mutant.write_text(
            "\n".join([*lines[:h], out.getvalue(), *lines[h + 1 :]]), encoding="utf-8"
        )
        try:
            sa.read_cgm(mutant, format=sa.detect_format(FIX / name))
        except InputError as exc:
            refused += "times; expected each column once" in str(exc)
    assert refused >= 1 if names_as_written else refused == 0  # the glucose column at least
