"""Check soleus_analysis's CGM metrics against iglu-python on iglu's own example data.

The example data are not shipped with this project (iglu's package data are GPL). Download
them yourself, e.g. ``tests/data/example_data_1_subject.csv`` (or ``example_data_5_subject.csv``)
from the iglu-python repository (github.com/staskh/iglu_python), or export them from R with
``write.csv(iglu::example_data_1_subject, "example_data_1_subject.csv")``. The file has the
columns ``"", id, time, gl`` (glucose in mg/dL) and is read with the project's generic reader.

For every subject and metric the script prints our value, iglu's, the difference and whether
it is within the agreed tolerance: 0.5 % for mean and GMI; 1 % for SD, CV and J-index;
0.5 percentage points for the times in ranges; 3 % for LBGI and HBGI; 5 % for MAGE, CONGA
(n = 1 h) and MODD (lag 1 day); 1 unit for GRI. The exit status is 1 when any metric is out of
tolerance.

Run: ``.venv/bin/python benchmarks/iglu_agreement.py path/to/example_data_1_subject.csv``
(needs ``iglu-python``, a development dependency).
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd

import soleus_analysis as sa
from soleus_analysis.metrics import glycemic_metrics

# our column -> (kind of tolerance, tolerance); "rel" in %, "abs" in the metric's own unit
TOLERANCES: dict[str, tuple[str, float]] = {
    "mean_mgdl": ("rel", 0.5),
    "gmi_pct": ("rel", 0.5),
    "sd_mgdl": ("rel", 1.0),
    "cv_pct": ("rel", 1.0),
    "j_index": ("rel", 1.0),
    "tir_pct": ("abs", 0.5),
    "titr_pct": ("abs", 0.5),
    "tbr_70_pct": ("abs", 0.5),
    "tbr_54_pct": ("abs", 0.5),
    "tbr_54_69_pct": ("abs", 0.5),
    "tar_180_pct": ("abs", 0.5),
    "tar_181_250_pct": ("abs", 0.5),
    "tar_250_pct": ("abs", 0.5),
    "gri": ("abs", 1.0),
    "lbgi": ("rel", 3.0),
    "hbgi": ("rel", 3.0),
    "mage_mgdl": ("rel", 5.0),
    "conga1_mgdl": ("rel", 5.0),
    "modd_mgdl": ("rel", 5.0),
}


def _by_id(result: pd.DataFrame) -> pd.DataFrame:
    """iglu result (one row per ``id``) indexed by subject, ``id`` cast to str."""
    out = result.copy()
    out["id"] = out["id"].astype(str)
    return out.set_index("id")


def iglu_metrics(data: pd.DataFrame) -> pd.DataFrame:
    """The same metrics computed by iglu-python, named as our columns.

    Parameters
    ----------
    data : pandas.DataFrame
        iglu layout: ``id``, ``time`` (datetime64), ``gl`` (mg/dL).

    Returns
    -------
    pandas.DataFrame
        One row per subject (index ``id``), columns the keys of :data:`TOLERANCES`.
    """
    import iglu_python as iglu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tir = _by_id(iglu.in_range_percent(data, target_ranges=[[70, 180], [70, 140]]))
        below = _by_id(iglu.below_percent(data, targets_below=[54, 70]))
        above = _by_id(iglu.above_percent(data, targets_above=[180, 250]))
        one = {
            "mean_mgdl": _by_id(iglu.mean_glu(data))["mean"],
            "sd_mgdl": _by_id(iglu.sd_glu(data))["SD"],
            "cv_pct": _by_id(iglu.cv_glu(data))["CV"],
            "gmi_pct": _by_id(iglu.gmi(data))["GMI"],
            "gri": _by_id(iglu.gri(data))["GRI"],
            "mage_mgdl": _by_id(iglu.mage(data))["MAGE"],
            "conga1_mgdl": _by_id(iglu.conga(data, n=1))["CONGA"],
            "modd_mgdl": _by_id(iglu.modd(data, lag=1))["MODD"],
            "lbgi": _by_id(iglu.lbgi(data))["LBGI"],
            "hbgi": _by_id(iglu.hbgi(data))["HBGI"],
            "j_index": _by_id(iglu.j_index(data))["J_index"],
        }
    out = pd.DataFrame(one)
    out["tir_pct"] = tir["in_range_70_180"]
    out["titr_pct"] = tir["in_range_70_140"]
    out["tbr_70_pct"] = below["below_70"]
    out["tbr_54_pct"] = below["below_54"]
    out["tbr_54_69_pct"] = below["below_70"] - below["below_54"]
    out["tar_180_pct"] = above["above_180"]
    out["tar_250_pct"] = above["above_250"]
    out["tar_181_250_pct"] = above["above_180"] - above["above_250"]
    return out[list(TOLERANCES)]


def agreement_table(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Long table: subject, metric, ours, iglu, difference, tolerance, within.

    The difference is relative (% of iglu's value) for "rel" metrics and absolute for "abs"
    metrics; a relative difference against an iglu value of 0 is 0 when both are 0, else inf.
    """
    rows = []
    ours = ours.assign(subject=ours["subject"].astype(str)).set_index("subject")
    for subject in ours.index:
        for metric, (kind, tol) in TOLERANCES.items():
            a, b = float(ours.at[subject, metric]), float(theirs.at[subject, metric])
            if kind == "abs":
                diff = a - b
            elif b != 0:
                diff = 100.0 * (a - b) / abs(b)
            else:
                diff = 0.0 if a == 0 else float("inf")
            unit = "%" if kind == "rel" else ("pp" if metric.endswith("_pct") else "")
            rows.append(
                {
                    "subject": subject,
                    "metric": metric,
                    "ours": a,
                    "iglu": b,
                    "diff": f"{diff:+.3f}{unit}",
                    "tolerance": f"{tol:g}{unit}",
                    "within": "yes" if abs(diff) <= tol else "NO",
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Read the file, compute both sides, print the table; 1 if any metric is out of tolerance."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", help="iglu example data CSV (columns '', id, time, gl)")
    ap.add_argument("--format", default=None, help="reader format (default: sniffed)")
    args = ap.parse_args(argv)

    rec = sa.read_cgm(args.path, format=args.format, units="mg/dL")
    prov = rec.provenance
    print(
        f"reader: format={prov.format} rows_read={prov.rows_read} rows_kept={prov.rows_kept} "
        f"rows_dropped={dict(prov.rows_dropped)} warnings={len(prov.warnings)}"
    )
    readings = rec.readings
    data = pd.DataFrame(
        {
            "id": readings["subject"].astype(str).to_numpy(),
            "time": readings["time"].to_numpy(),
            "gl": readings["glucose_mgdl"].to_numpy(dtype=float),
        }
    )
    ours = glycemic_metrics(readings)
    theirs = iglu_metrics(data)
    table = agreement_table(ours, theirs)
    with pd.option_context("display.max_rows", None, "display.width", 120):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    bad = table[table["within"] != "yes"]
    print(f"\n{len(table) - len(bad)}/{len(table)} within tolerance")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    raise SystemExit(main())
