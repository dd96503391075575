"""Execute a committed notebook with test-size parameters and return what it reported.

A notebook's first code cell tagged ``parameters`` holds its defaults (full size, as committed).
:func:`run_notebook` inserts a cell right after it that overrides some of them (as papermill
does), executes the notebook in a fresh kernel, and collects every line the notebook printed as
``RESULT_JSON: {...}`` into one dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MARK = "RESULT_JSON:"


def run_notebook(
    name: str, params: dict[str, Any], timeout: int = 600
) -> tuple[dict[str, Any], Any]:
    """Run ``notebooks/<name>`` with ``params`` overriding its parameters cell.

    Returns
    -------
    results : dict
        Merged ``RESULT_JSON:`` payloads printed by the notebook.
    nb : NotebookNode
        The executed notebook (for checking outputs such as figures).
    """
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    idx = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
    )
    src = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(idx + 1, cell)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    results: dict[str, Any] = {}
    for c in nb.cells:
        for out in c.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(MARK):
                    results.update(json.loads(line[len(MARK) :]))
    return results, nb
