"""The bundled synthetic data are exactly what the committed script and simulator produce."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.parent != root  # the per-protocol folders, not the script or README
    }


def test_make_data_regenerates_the_same_bytes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    assert _digests(tmp_path) == _digests(DATA)
    assert all(
        "synthetic" in Path(name).name or Path(name).name == "manifest.csv"
        for name in _digests(DATA)
    )
