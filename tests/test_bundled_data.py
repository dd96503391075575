"""The bundled synthetic data are what the committed script and simulator produce.

``data/make_data.py`` is run into a temporary folder and every file is compared with the bundled
one as data, not as bytes: the same files; in each CSV the same rows and, cell by cell, the same
text exactly (headers, preambles, timestamps, IDs, empty cells) and the same numbers within
:data:`LAST_DIGIT_UNITS` units of the column's last printed digit plus :data:`REL_TOL` of the
value. A cell is a number if ``float()`` reads it. Any other file must be identical byte for byte.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from decimal import Decimal, InvalidOperation
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

#: Numbers are printed rounded (CGM mg/dL to 0 decimals, lab values to 1, ground-truth iAUCs to 3).
#: Another NumPy, SciPy or pandas release, or another BLAS kernel, changes results far below that
#: precision, which still flips the last printed digit when a value lies near a rounding boundary:
#: so a number may differ by one unit of the last digit its column prints (1.5 units, so that
#: floating-point noise in the comparison itself never decides).
LAST_DIGIT_UNITS = 1.5
#: On top, relative to the value: the simulator integrates its ODEs with
#: ``solve_ivp(rtol=1e-6)``. That bounds each step's local error; the global error of an
#: adaptive solver is a small multiple of it, and another CPU's vector kernels (the same
#: locked releases on another machine) change the steps it takes: an insulin truth iAUC of
#: 1728.443 was regenerated as 1728.438 (2.9e-6 relative). So 10 x rtol.
#: Together these allow e.g. 0.03 on a truth iAUC of 3000 and 1 mg/dL on a CGM reading;
#: anything larger (0.1 on a 3-decimal value of 3000, 2 mg/dL) fails.
REL_TOL = 1e-5
#: mismatches listed in a failure message
SHOW = 20


def _files(root: Path) -> list[str]:
    """Relative paths of the generated files: the per-protocol folders, not the script or README."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.parent != root and "__pycache__" not in p.parts
    )


def _number(cell: str) -> tuple[float, float] | None:
    """(value, one unit of its last printed digit) if ``cell`` is a finite number, else None."""
    try:
        value = float(cell)
        exponent = Decimal(cell.strip()).as_tuple().exponent
    except (ValueError, InvalidOperation):
        return None
    if not math.isfinite(value) or not isinstance(exponent, int):
        return None  # nan/inf are compared as text
    return value, 10.0**exponent


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every CSV row, preamble and header rows included."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        return [(reader.line_num, row) for row in reader]


def _column_units(*tables: list[tuple[int, list[str]]]) -> dict[int, float]:
    """One unit of the last printed digit of each column: the finest any of its numbers shows.

    Per column, not per cell, because pandas drops trailing zeros (a value rounded to 3 decimals
    may print as ``3014.07``).
    """
    units: dict[int, float] = {}
    for rows in tables:
        for _, row in rows:
            for col, cell in enumerate(row):
                if (num := _number(cell)) is not None:
                    units[col] = min(units.get(col, math.inf), num[1])
    return units


def _cells_agree(new: str, old: str, unit: float) -> bool:
    if new == old:
        return True
    a, b = _number(new), _number(old)
    if a is None or b is None:
        return False  # text (or text against a number): exactly equal or nothing
    x, y = a[0], b[0]
    return abs(x - y) <= LAST_DIGIT_UNITS * unit + REL_TOL * max(abs(x), abs(y))


def _csv_differences(new: Path, old: Path) -> list[str]:
    """Where two CSV files differ beyond the tolerance, as readable lines (empty if they agree)."""
    new_rows, old_rows = _rows(new), _rows(old)
    units = _column_units(new_rows, old_rows)
    out = []
    if len(new_rows) != len(old_rows):
        out.append(f"{len(new_rows)} rows regenerated, {len(old_rows)} bundled")
    for (line, a), (_, b) in zip(new_rows, old_rows, strict=False):
        if len(a) != len(b):
            out.append(f"line {line}: {len(a)} cells regenerated, {len(b)} bundled")
            continue
        out += [
            f"line {line}, column {col + 1}: regenerated {x!r}, bundled {y!r}"
            for col, (x, y) in enumerate(zip(a, b, strict=True))
            if not _cells_agree(x, y, units.get(col, 0.0))
        ]
    return out


def _differences(new_root: Path, old_root: Path) -> list[str]:
    new_files, old_files = _files(new_root), _files(old_root)
    out = [f"{n}: only regenerated" for n in sorted(set(new_files) - set(old_files))]
    out += [f"{n}: only bundled" for n in sorted(set(old_files) - set(new_files))]
    for name in sorted(set(new_files) & set(old_files)):
        new, old = new_root / name, old_root / name
        if name.endswith(".csv"):
            out += [f"{name}: {d}" for d in _csv_differences(new, old)]
        elif new.read_bytes() != old.read_bytes():
            out.append(f"{name}: bytes differ")
    return out


def test_make_data_regenerates_the_same_data(tmp_path):
    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    diffs = _differences(tmp_path, DATA)
    assert not diffs, f"{len(diffs)} differences, e.g.:\n" + "\n".join(diffs[:SHOW])
    names = _files(DATA)
    assert names
    assert all(
        "synthetic" in Path(name).name or Path(name).name in ("manifest.csv", "rules.json")
        for name in names
    )


def test_the_tolerance_still_catches_a_real_change():
    """The comparison allows solver noise, not a changed result: 0.1 on a 3-decimal iAUC of
    3,000 and 2 mg/dL on a whole-mg/dL reading are differences; 0.02 and 1 mg/dL are not."""
    assert _cells_agree("3000.020", "3000.000", 0.001)
    assert not _cells_agree("3000.100", "3000.000", 0.001)
    assert _cells_agree("121", "120", 1.0)
    assert not _cells_agree("122", "120", 1.0)
