"""Full-size methods validation: execute notebooks/03_methods_validation.ipynb and save it.

Runs the notebook with its committed parameters (N_TRIALS = 200 simulated trials; all data
synthetic) in a fresh kernel, writes it back with its outputs, and prints the wall time and the
notebook's ``RESULT_JSON`` line. The test suite runs the same notebook at a small size
(tests/test_notebook_03.py); this is the documented command for the full-size run:

    .venv/bin/python benchmarks/validation_full.py
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_methods_validation.ipynb"


def main() -> None:
    """Execute the notebook at full size and save it with outputs."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=3600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    took = time.perf_counter() - start
    nbformat.write(nb, NOTEBOOK)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in (
                out.get("text", "").splitlines() if out.get("output_type") == "stream" else []
            ):
                if line.startswith("RESULT_JSON:"):
                    print(line)
    print(f"{NOTEBOOK.name}: executed in {took:.0f} s and saved with outputs")


if __name__ == "__main__":
    main()
