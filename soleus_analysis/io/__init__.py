"""Readers: one module per format family, each returning the canonical :class:`Recording`.

``read_cgm`` and ``read_events`` dispatch on the format sniffed from the content (or the one
given); ``read_many`` combines several exports of one person.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from os import PathLike

import pandas as pd

from ..errors import InputError
from ..recording import Recording, combine_person, combine_provenance
from .detect import all_readers, detect_format

__all__ = ["read_cgm", "read_events", "read_many", "read_person", "detect_format", "formats"]


def formats() -> list[str]:
    """Names of every format the readers take (for ``format=``)."""
    return sorted(all_readers())


def _accepted(reader, options: dict) -> dict:
    """The options ``reader`` takes (all of them when it takes ``**kwargs``); ``None`` values dropped."""
    params = inspect.signature(reader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in options.items() if v is not None}
    return {k: v for k, v in options.items() if k in params and v is not None}


def _read(
    path: str | PathLike, format: str | None, options: dict, only_accepted: bool = False
) -> Recording:
    name = format or detect_format(path)
    readers = all_readers()
    if name not in readers:
        raise InputError(
            f"unknown format {name!r}; expected one of: {', '.join(sorted(readers))}", path
        )
    if only_accepted:
        options = _accepted(readers[name], options)
    rec = readers[name](path, **options)
    rec.provenance.check()
    return rec


def read_cgm(
    path: str | PathLike,
    format: str | None = None,
    *,
    only_accepted_options: bool = False,
    **options,
) -> Recording:
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
    only_accepted_options : bool
        Pass the reader only the options it takes (see :func:`read_events`).

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
    return _read(path, format, options, only_accepted_options)


def read_events(
    path: str | PathLike,
    format: str | None = None,
    *,
    only_accepted_options: bool = False,
    **options,
) -> Recording:
    """Read a meal/activity log (or the events of any export) into a :class:`Recording`.

    The result holds events only; readings of a CGM export are counted as dropped
    (reason ``"reading (events only)"``) so the row account still adds up.
    ``only_accepted_options=True`` passes each reader only the options it takes (for front ends
    such as the CLI that offer one set of options, e.g. ``date_order``, for files of any format).
    """
    rec = _read(path, format, options, only_accepted_options)
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
    *,
    only_accepted_options: bool = False,
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
    only_accepted_options : bool
        Pass each file's reader only the options it takes (see :func:`read_events`).
    **options
        Passed to each reader.
    """
    recs = [_read(p, format, options, only_accepted_options) for p in paths]
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


def read_person(
    cgm: Iterable[str | PathLike],
    events: Iterable[str | PathLike] = (),
    subject: str | None = None,
    *,
    only_accepted_options: bool = False,
    **options,
) -> Recording:
    """One person's CGM exports and meal/activity logs as one :class:`Recording`.

    The CGM exports are combined with :func:`read_many` (overlaps merged and counted), the logs
    read with :func:`read_events`, and every row put under one subject id.

    Parameters
    ----------
    cgm : iterable of path
        The person's CGM exports (any formats).
    events : iterable of path
        Their logs: activity log, Cronometer, MyFitnessPal, a planner schedule, ...
    subject : str, optional
        Id for the person; default the first CGM file's subject (its file name).
    only_accepted_options : bool
        Pass each reader only the options it takes (see :func:`read_events`).
    **options
        Reader options, e.g. ``date_order="dmy"``, ``units="mmol/L"``.
    """
    rec = read_many(cgm, subject=subject, only_accepted_options=only_accepted_options, **options)
    logs = [
        read_events(p, subject=subject, only_accepted_options=only_accepted_options, **options)
        for p in events
    ]
    return combine_person(rec, logs, subject)
