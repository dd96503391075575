"""Readers: one module per format family, each returning the canonical :class:`Recording`.

``read_cgm`` and ``read_events`` dispatch on the format sniffed from the content (or the one
given); ``read_many`` combines several exports of one person, ``read_person`` a person's
exports and logs. :func:`read_lab` reads the lab OGTT table (a :class:`~.lab.LabTable`, not a
recording); the dispatcher knows it too and says so when one is given as an export or a log.

Adding a format
---------------
A CSV (or JSON, XML) format is one module in this package that holds only that format's rules
and declares::

    SNIFFERS = [("my_format", sniff)]  # sniff(text, raw) -> bool on the file's head
    READERS = {"my_format": read_my_format}  # read(path, subject=None, **options) -> Recording

then its name goes once into :data:`.detect.MODULES` (before ``generic``, which takes any CSV
with a time and a glucose column). The reader starts with :func:`.base.check_input_file`, finds
its header with :func:`.base.find_header` (or reads a table of named columns with
:func:`.base.read_table`), decodes text only through :mod:`.encoding`, and accounts for every
row: :class:`.base.RowAccount` / :class:`.base.TextRows` (or :func:`.base.warn_dropped` for
rows it drops itself) count each row kept or dropped under a named reason and write the
warnings, at most :data:`.base.MAX_WARNINGS_PER_REASON` per reason, so that
``provenance.rows_read == rows_kept + sum(rows_dropped.values())``. SPU bouts in free text are
recognised with :mod:`.spu_text`. A reader module never imports a private (``_name``) helper of
another reader module; what two formats share goes into :mod:`.base`, :mod:`.encoding` or
:mod:`.spu_text` under a public name. ``tests/test_all_fixtures.py`` then wants a fixture of
the format.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from os import PathLike

import numpy as np
import pandas as pd

from ..core.clock import (
    CLOCK_COLUMNS,
    check_time_zone,
    clock_changes,
    readings_clock_ns,
    utc_seconds_from_local,
)
from ..core.errors import InputError
from ..core.recording import Recording, combine_person, combine_provenance
from ..core.schema import DEVICE_UNITS, GLUCOSE_UNITS
from .base import check_input_file, file_sha256
from .detect import all_readers, all_tables, detect_format
from .lab import read_lab

__all__ = [
    "read_cgm",
    "read_events",
    "read_many",
    "read_person",
    "detect_format",
    "formats",
    "read_lab",
    "file_labels",
    "one_person",
    "LOG_FORMATS",
    "EVENT_HUBS",
]


def formats() -> list[str]:
    """Names of every format the readers take (for ``format=``; ``lab_ogtt``: :func:`read_lab`)."""
    return sorted(all_readers() | all_tables())


def _accepted(reader, options: dict) -> dict:
    """The options ``reader`` takes (all of them when it takes ``**kwargs``); ``None`` values dropped."""
    params = inspect.signature(reader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in options.items() if v is not None}
    return {k: v for k, v in options.items() if k in params and v is not None}


def _read(
    path: str | PathLike, format: str | None, options: dict, only_accepted: bool = False
) -> Recording:
    return _read_file(path, format, options, only_accepted)[0]


def _read_file(
    path: str | PathLike, format: str | None, options: dict, only_accepted: bool = False
) -> tuple[Recording, np.ndarray | None]:
    """The file's recording and the device clock of its readings (ns, in their order; see
    :func:`_flag_time_oddities`), or None for the clock when it was not computed."""
    check_input_file(path)
    name = format or detect_format(path)
    readers = all_readers()
    if name not in readers:
        tables = all_tables()
        if name in tables:
            raise InputError(tables[name][1], path)
        raise InputError(f"unknown format {name!r}; expected one of: {', '.join(formats())}", path)
    options = dict(options)
    tz = options.pop("tz", None)
    if tz is not None:
        tz = check_time_zone(tz)
        params = inspect.signature(readers[name]).parameters
        if "tz" in params:
            options["tz"] = tz  # a reader of UTC instants makes local times with it
        elif "utc_offset" in params and options.get("utc_offset") is None:
            options["utc_offset"] = tz  # Nightscout: the zone's offset at each instant
    if only_accepted:
        options = _accepted(readers[name], options)
    rec = readers[name](path, **options)
    rec.provenance.check()
    _refuse_wrong_date_order(rec, path, options.get("date_order"))
    rec.provenance.sha256 = file_sha256(path)
    units = rec.provenance.units
    if len(rec.readings) and DEVICE_UNITS not in rec.readings and units in GLUCOSE_UNITS:
        rec.readings[DEVICE_UNITS] = units  # the units the values were reported in
    if tz is not None:
        rec.provenance.metadata["time_zone"] = tz
        r = rec.readings
        if len(r) and not any(c in r.columns for c in CLOCK_COLUMNS):
            # local times only: the zone gives each its instant (repeats in the file's order)
            codes = pd.factorize(r["subject"])[0] if "subject" in r else np.zeros(len(r), int)
            local = r["time"].to_numpy(dtype="datetime64[ns]").view("i8")
            r["utc_time_s"] = utc_seconds_from_local(local, codes, tz)
    return rec, _flag_time_oddities(rec)


#: share of the rows with a date (kept, or dropped for their date) whose date cannot be read in
#: the order given before that order is called wrong: with the right order such rows are rare,
#: with the wrong one every date whose day is above 12 fails (about 60% of a month)
WRONG_DATE_ORDER_SHARE = 0.25


def _refuse_wrong_date_order(rec: Recording, path: str | PathLike, date_order: str | None) -> None:
    """A date order that leaves many rows' dates unreadable is a mistake, not data: refuse it
    with a hint to try the other order, instead of a file read with its rows silently halved."""
    p = rec.provenance
    if date_order not in ("dmy", "mdy") or not p.rows_read:
        return
    bad = sum(n for r, n in p.rows_dropped.items() if "timestamp" in r or "time" in r.split())
    if bad and bad >= WRONG_DATE_ORDER_SHARE * (bad + p.rows_kept):
        other = "mdy" if date_order == "dmy" else "dmy"
        first = "day-first" if date_order == "dmy" else "month-first"
        raise InputError(
            f"the dates do not read {first} (date_order='{date_order}'): {bad} of "
            f"{bad + p.rows_kept} dated rows could not be read that way; try the other order, "
            f"date_order='{other}'",
            path,
        )


def _clashes(codes: np.ndarray, clock: np.ndarray, glucose: np.ndarray) -> int:
    """Readings that share their subject and device time with another reading, but not
    their value with any of them (a missing value equals a missing value), by one sort (none
    when the readings are already in strictly increasing (subject, device time) order)."""
    if len(codes) > 1:
        step_s, step_k = np.diff(codes), np.diff(clock)
        if ((step_s > 0) | ((step_s == 0) & (step_k > 0))).all():
            return 0
    order = np.lexsort((glucose, clock, codes))
    s, k, g = codes[order], clock[order], glucose[order]
    same_time = (s[1:] == s[:-1]) & (k[1:] == k[:-1])
    if not same_time.any():
        return 0
    same = same_time & ((g[1:] == g[:-1]) | (np.isnan(g[1:]) & np.isnan(g[:-1])))

    def either_side(adjacent: np.ndarray) -> np.ndarray:
        out = np.zeros(len(s), dtype=bool)
        out[1:] |= adjacent
        out[:-1] |= adjacent
        return out

    return int((either_side(same_time) & ~either_side(same)).sum())


def _flag_time_oddities(rec: Recording) -> np.ndarray | None:
    """Warn (in provenance) of changes of the local clock and of one time with two values.

    Rules: readings at a local time the clock repeated are all kept and ordered by the device
    clock (:mod:`soleus_analysis.core.clock`); two readings at the same device time with
    different values are both kept (the clean stage drops only exact repeats).

    Returns
    -------
    numpy.ndarray of int64 or None
        The device clock of each reading (ns) when the readings are of one subject (the clock
        :func:`_in_device_order` orders one file's readings by), else None.
    """
    r = rec.readings
    if len(r) < 2:
        return None
    codes = pd.factorize(r["subject"])[0] if "subject" in r else np.zeros(len(r), dtype=int)
    local = r["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    clock = readings_clock_ns(r, codes)
    changes = clock_changes(codes, local, clock)
    for ch in changes.head(5).itertuples(index=False):
        rec.provenance.warn(
            f"the local clock moved {ch.change_min:+g} min between {ch.local_before} and "
            f"{ch.local_after} (daylight saving or travel): readings kept, in the order the "
            "device measured them"
        )
    if len(changes) > 5:
        rec.provenance.warn(f"... and {len(changes) - 5} more changes of the local clock")
    clash = _clashes(codes, clock, r["glucose_mgdl"].to_numpy(dtype="float64"))
    if clash:
        rec.provenance.warn(
            f"{clash} readings share their time with a reading of a different value; all kept"
        )
    return clock if (codes == codes[0]).all() else None


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
        ``date_order="dmy"``, ``units="mmol/L"`` (generic CSV), ``tz="Europe/Paris"`` (any
        format: the person's IANA time zone; exports holding only local times get each
        reading's UTC instant from it, as ``utc_time_s``, a fall-back's repeated hour taken in
        the file's order; Nightscout records without an offset get their local time from it).
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
    return read_events_of(_read(path, format, options, only_accepted_options))


def read_events_of(rec: Recording) -> Recording:
    """The events of a recording, its readings counted as dropped (``"reading (events only)"``)."""
    if len(rec.readings):
        prov = rec.provenance
        prov.rows_kept -= len(rec.readings)
        prov.drop("reading (events only)", len(rec.readings))
        rec = Recording(events=rec.events, provenance=prov)
    return rec


def _dedupe_key(readings: pd.DataFrame) -> list[str]:
    key = ["subject", "time", "glucose_mgdl", "censored"]
    return key + [c for c in ("transmitter_time_s", "record_type") if c in readings.columns]


#: formats that hold meals and activity only (given as ``--events``, never as a CGM export)
LOG_FORMATS = frozenset({"activity_log", "cronometer", "cronometer_exercises", "myfitnesspal"})
#: CGM-bearing formats that may still be given as a log: Apple Health collects the glucose of
#: other apps as well as the workouts and food a person logs, so its readings are set aside
EVENT_HUBS = frozenset({"apple_health"})


def file_labels(cgm: Iterable[str | PathLike], events: Iterable[str | PathLike] = ()) -> dict:
    """How outputs name each of a person's files without its name.

    ``"CGM export"`` / ``"log"`` when there is one of the kind, else ``"CGM export 1"``,
    ``"CGM export 2"``, ... in the order given. Keys are the paths as given (``str``).
    """
    out: dict[str, str] = {}
    for word, paths in (("CGM export", list(cgm)), ("log", list(events))):
        for i, p in enumerate(paths):
            out.setdefault(str(p), word if len(paths) == 1 else f"{word} {i + 1}")
    return out


def _people_hint(subjects: list) -> str:
    shown = ", ".join(map(str, subjects[:5])) + (", ..." if len(subjects) > 5 else "")
    return (
        f"holds {len(subjects)} people (ids {shown}); one person's analysis needs one: "
        "choose one with --subject ID (subject= in Python), or analyse them all with "
        "`soleus cohort FILE`"
    )


def one_person(rec: Recording, subject: str | None, path: str | PathLike) -> Recording:
    """The recording of one person from a file that may hold several.

    A file naming one person (or none) is returned as it is. From a file holding several,
    ``subject`` selects one (the other people's rows are counted as dropped, reason
    ``"another person in the file"``); without ``subject`` it is an error, since pooling
    different people's glucose as one person's would be wrong.

    Raises
    ------
    InputError
        The file holds several people and ``subject`` names none of them.
    """
    subjects = rec.subjects
    if len(subjects) <= 1:
        return rec
    if subject is None or str(subject) not in {str(s) for s in subjects}:
        hint = _people_hint(subjects)
        if subject is not None:
            hint = f"has no person {subject!r}; it " + hint
        raise InputError(hint, path)
    keep_r = rec.readings["subject"].astype(str) == str(subject)
    keep_e = rec.events["subject"].astype(str) == str(subject)
    prov = rec.provenance
    n_other = int((~keep_r).sum() + (~keep_e).sum())
    prov.rows_kept -= n_other
    prov.drop("another person in the file", n_other)
    return Recording(
        readings=rec.readings.loc[keep_r].reset_index(drop=True),
        events=rec.events.loc[keep_e].reset_index(drop=True),
        provenance=prov,
    )


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
    file (e.g. the repeated local hour of a daylight-saving fall-back) are kept. A file holding
    several people is refused unless ``subject`` selects one (see :func:`one_person`).

    Parameters
    ----------
    paths : iterable of path
        The files, any formats.
    format : str, optional
        Force one format for all files.
    subject : str, optional
        Subject id for all rows (or, in a file of several people, the one to select);
        defaults to the first file's subject.
    only_accepted_options : bool
        Pass each file's reader only the options it takes (see :func:`read_events`).
    **options
        Passed to each reader.
    """
    paths = list(paths)
    read = [_read_file(p, format, options, only_accepted_options) for p in paths]
    recs = [one_person(rec, subject, p) for (rec, _), p in zip(read, paths, strict=True)]
    if not recs:
        raise InputError("read_many needs at least one file")
    subj = subject or (recs[0].subjects[0] if recs[0].subjects else None)
    # one file of one person: nothing to merge, and its readings' device clock is known
    single = len(recs) == 1 and subj is not None and recs[0] is read[0][0]
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
        if single:
            dup = np.zeros(len(df), dtype=bool)
        else:
            key = key_fn(df)
            # n-th occurrence within its own file: a repeat inside one file is not a duplicate
            occ = df.groupby(key + ["_file"], dropna=False, sort=False).cumcount()
            dup = df.assign(_occ=occ).duplicated(key + ["_occ"], keep="first").to_numpy()
        merged[name] = int(dup.sum())
        if name == "readings" and not single:
            _refuse_two_devices(df.loc[~dup], paths)
        keep = (df if single else df.loc[~dup]).drop(columns="_file")
        if name == "readings" and any(c in keep for c in CLOCK_COLUMNS):
            out[name] = _in_device_order(keep, read[0][1] if single else None)
        else:
            out[name] = keep.sort_values(["subject", "time"], kind="stable").reset_index(drop=True)
    prov = combine_provenance([r.provenance for r in recs])
    n_merged = merged["readings"] + merged["events"]
    prov.rows_kept -= n_merged
    prov.drop("duplicate across files", n_merged)
    prov.check()
    if single:
        # the file's own recording, whose frames are canonical already (a subject id set, rows
        # reordered): it takes the combined frames and account without a second conform
        rec = recs[0]
        rec.readings, rec.events = out["readings"], out["events"]
        rec.sources, rec.provenance = [rec.provenance], prov
        return rec
    return Recording(
        readings=out["readings"],
        events=out["events"],
        provenance=prov,
        sources=[r.provenance for r in recs],
    )


def _in_device_order(readings: pd.DataFrame, clock: np.ndarray | None = None) -> pd.DataFrame:
    """Readings sorted by subject and the device's clock (local time for ties); ``clock``,
    when given, is that clock (ns) of one subject's readings, already computed."""
    codes = pd.factorize(readings["subject"], sort=True)[0]
    local = readings["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    if clock is None:
        clock = readings_clock_ns(readings, codes)
    return readings.iloc[np.lexsort((local, clock, codes))].reset_index(drop=True)


#: two exports whose distinct readings share more than this span are two devices worn at once
OVERLAP_LIMIT_MIN = 60.0


def _refuse_two_devices(readings: pd.DataFrame, paths: list) -> None:
    """Refuse exports of one person whose *different* readings cover the same hours.

    Consecutive exports of one device overlap with the same readings (merged as duplicates).
    Two sensors worn at once, or another person's export, give different readings over the same
    time; interleaved, they would pass for one trace sampled twice as often.
    """
    if readings["_file"].nunique() < 2:
        return
    t = readings["time"]
    spans = t.groupby(readings["_file"]).agg(["min", "max"])
    files = list(spans.index)
    for i, a in enumerate(files):
        for b in files[i + 1 :]:
            lo = max(spans.loc[a, "min"], spans.loc[b, "min"])
            hi = min(spans.loc[a, "max"], spans.loc[b, "max"])
            if hi - lo <= pd.Timedelta(minutes=OVERLAP_LIMIT_MIN):
                continue
            inside = t.between(lo, hi)
            n_a = int((inside & (readings["_file"] == a)).sum())
            n_b = int((inside & (readings["_file"] == b)).sum())
            if min(n_a, n_b) >= 6:  # both hold readings of their own in the shared hours
                hours = (hi - lo) / pd.Timedelta(hours=1)
                raise InputError(
                    f"holds different glucose readings than CGM export {a + 1} over the same "
                    f"{hours:.0f} h ({lo:%d %b %Y} to {hi:%d %b %Y}): two sensors worn at once, or "
                    "another person's export? Give one export per period (or each person apart)",
                    paths[b],
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
    read with :func:`read_events`, and every row put under one subject id. Each file's
    provenance gets its label from :func:`file_labels` (``"CGM export 1"``, ``"log"``, ...).

    A meal/activity log given as a CGM export, or a CGM export with glucose readings given as a
    log, is refused (Apple Health excepted, see :data:`EVENT_HUBS`): the message says what the
    file is and where it belongs.

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
    cgm, events = list(cgm), list(events)
    if not cgm:
        raise InputError("no CGM export given; a person's analysis needs at least one")
    for p in cgm:
        check_input_file(p)
        fmt = options.get("format") or detect_format(p)
        if fmt in LOG_FORMATS:
            raise InputError(
                f"is a meal/activity log ({fmt}), not a CGM export; give it with --events", p
            )
    both = {str(p) for p in cgm} & {str(p) for p in events}
    if both:
        raise InputError(
            "is given both as a CGM export and as a log; give it once, as the CGM export "
            "(its meal, insulin and exercise entries are read from there)",
            sorted(both)[0],
        )
    labels = file_labels(cgm, events)
    rec = read_many(cgm, subject=subject, only_accepted_options=only_accepted_options, **options)
    logs = []
    for p in events:
        log = _read(p, None, dict(options, subject=subject), only_accepted_options)
        fmt = log.provenance.format
        if len(log.readings) and fmt not in EVENT_HUBS:
            raise InputError(
                f"is a CGM export ({fmt}, {len(log.readings)} glucose readings), not a log; give "
                "it with --cgm (its meal, insulin and exercise entries are read from there too)",
                p,
            )
        logs.append(read_events_of(one_person(log, subject, p)))
    for path, prov in zip(cgm + events, rec.sources + [lg.provenance for lg in logs], strict=True):
        prov.label = labels[str(path)]
    return combine_person(rec, logs, subject)
