"""Generate the bundled SYNTHETIC datasets in data/ with fixed seeds.

Run from the repository root: ``.venv/bin/python data/make_data.py`` (or ``make data``).
Re-running gives the same bytes with the versions in requirements.lock (other releases may move
a printed number by one unit of its last digit). Nothing here was measured in people: every file
is simulated by ``soleus_analysis.simulate`` and says so in its name and first lines.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from soleus_analysis.simulate import simulate_study, write_study

HERE = Path(__file__).resolve().parent

#: (protocol, seed) of each bundled dataset.
DATASETS: tuple[tuple[str, int], ...] = (
    ("hamilton2022", 2022),
    ("elek2025", 2025),
    ("freeliving", 14),
)


def main(root: Path = HERE) -> None:
    """Simulate each protocol and write its files into ``<root>/<protocol>/`` (default data/)."""
    for protocol, seed in DATASETS:
        out = Path(root) / protocol
        if out.exists():
            shutil.rmtree(out)
        study = simulate_study(protocol, seed=seed)
        manifest = write_study(study, out)
        red = study.true_reduction()
        print(
            f"{protocol}: seed {seed}, {len(manifest)} people, {len(study.cgm)} CGM readings; "
            f"true glucose iAUC reduction {red['glucose_iauc_reduction_pct']:.1f}%, "
            f"insulin {red['insulin_iauc_reduction_pct']:.1f}%"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Generate the bundled synthetic datasets.")
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: data/)")
    main(ap.parse_args().out)
