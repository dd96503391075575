"""Readers: one module per format family, each returning the canonical :class:`Recording`.

``read_cgm`` and ``read_events`` dispatch on the format sniffed from the content (or the one
given); ``read_many`` combines several exports of one person.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

import pandas as pd

from ..errors import InputError
from ..recording import Recording, combine_provenance
from .detect import all_readers, detect_format

__all__ = ["read_cgm", "read_events", "read_many", "detect_format", "formats"]


def formats() -> list[str]:
    """Names of every format the readers take (for ``format=``)."""
    return sorted(all_readers())


def _read(path: str | PathLike, format: str | None, options: dict) -> Recording:
    name = format or detect_format(path)
    readers = all_readers()
    if name not in readers:
        raise InputError(
            f"unknown format {name!r}; expected one of: {', '.join(sorted(readers))}", path
        )
    rec = readers[name](path, **options)
    rec.provenance.check()
    return rec


def read_cgm(path: str | PathLike, format: str | None = None, **options) -> Recording:
    """Read one CGM export (or log) into a :class:`Recording`.

    Parameters
    ----------
    path : str or PathLike
        The export file.
    format : str, optional
        A name from :func:`formats`; sniffed from the content when omitted.
    **options
        Passed to the format's reader, e.g. ``subject="p01"``, ``include_scans=True`` (LibreView),
        ``date_order="dmy"``, ``units="mmol/L"`` (generic CSV).

    Returns
    -------
    Recording
        ``readings`` (glucose in mg/dL, local time), ``events`` and ``provenance`` whose row
        account adds up.

    Raises
    ------
    InputError
        When the file cannot be read as the format; the message names the file and the line.
    """
    return _read(path, format, options)


def read_events(path: str | PathLike, format: str | None = None, **options) -> Recording:
    """Read a meal/activity log (or the events of any export) into a :class:`Recording`.

    The result holds events only; readings of a CGM export are counted as dropped
    (reason ``"reading (events only)"``) so the row account still adds up.
    """
    rec = _read(path, format, options)
    if len(rec.readings):
        prov = rec.provenance
        prov.rows_kept -= len(rec.readings)
        prov.drop("reading (events only)", len(rec.readings))
        rec = Recording(events=rec.events, provenance=prov)
    return rec


def _dedupe_key(readings: pd.DataFrame) -> list[str]:
    key = ["subject", "time", "glucose_mgdl", "censored"]
    return key + [c for c in ("transmitter_time_s", "record_type") if c in readings.columns]


def read_many(
    paths: Iterable[str | PathLike],
    format: str | None = None,
    subject: str | None = None,
    **options,
) -> Recording:
    """Combine several exports of one person into one :class:`Recording`.

    Consecutive exports overlap; a reading (or event) that an earlier file already holds is
    merged, and counted in provenance under ``"duplicate across files"``. Repeats *within* one
    file (e.g. the repeated local hour of a daylight-saving fall-back) are kept.

    Parameters
    ----------
    paths : iterable of path
        The files, any formats.
    format : str, optional
        Force one format for all files.
    subject : str, optional
        Subject id for all rows; defaults to the first file's subject.
    **options
        Passed to each reader.
    """
    recs = [_read(p, format, options) for p in paths]
    if not recs:
        raise InputError("read_many needs at least one file")
    subj = subject or (recs[0].subjects[0] if recs[0].subjects else None)
    readings, events = [], []
    for i, rec in enumerate(recs):
        r = rec.readings.assign(_file=i)
        e = rec.events.assign(_file=i)
        if subj is not None:
            r["subject"] = subj
            e["subject"] = subj
        readings.append(r)
        events.append(e)
    merged = {}
    out = {}
    for name, frames, key_fn in (
        ("readings", readings, _dedupe_key),
        ("events", events, lambda f: ["subject", "time", "kind", "carbs_g", "insulin_u", "label"]),
    ):
        df = pd.concat(frames, ignore_index=True)
        key = key_fn(df)
        # n-th occurrence within its own file: a repeat inside one file is not a duplicate
        occ = df.groupby(key + ["_file"], dropna=False, sort=False).cumcount()
        dup = df.assign(_occ=occ).duplicated(key + ["_occ"], keep="first")
        merged[name] = int(dup.sum())
        keep = df.loc[~dup].drop(columns="_file")
        sort = ["subject", "time"] + (
            ["transmitter_time_s"] if "transmitter_time_s" in keep else []
        )
        out[name] = keep.sort_values(sort, kind="stable").reset_index(drop=True)
    prov = combine_provenance([r.provenance for r in recs])
    n_merged = merged["readings"] + merged["events"]
    prov.rows_kept -= n_merged
    prov.drop("duplicate across files", n_merged)
    prov.check()
    return Recording(
        readings=out["readings"],
        events=out["events"],
        provenance=prov,
        sources=[r.provenance for r in recs],
    )
