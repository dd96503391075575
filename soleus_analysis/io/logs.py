"""Meal and activity logs: the project's own activity log, Cronometer and MyFitnessPal exports.

Formats
    ``activity_log``
        The project's hand-kept CSV (see ``docs/activity_log.md``): one row per soleus-pushup bout,
        other activity, meal, insulin dose or note. Also reads the N-of-1 planner's schedule
        (rows not marked ``done`` are dropped as planned only).
    ``cronometer``
        Cronometer "servings" export, one row per food item; items of the same day and diary group
        eaten close together become one ``meal`` event with carbs summed.
    ``cronometer_exercises``
        Cronometer exercise export; ``exercise`` (or ``spu``) events with ``end = start + Minutes``.
    ``myfitnesspal``
        MyFitnessPal meal export, one row per meal (rows of the same date and meal summed).

Rows are the data lines below the header (comment and blank lines of the activity log are not
rows). Each dropped row is counted under its reason and warned about with its 1-based line.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT
from .base import (
    MAX_WARNINGS_PER_REASON,
    RowAccount,
    column_list,
    first_header,
    implausible,
    minutes_to_timedelta,
    numbers,
    read_table,
    to_ns,
    warn_each,
)
from .spu_text import SPU_RE, spu_mask, spu_minutes

#: Default meal times (local clock) used when a diary row has no time, by normalised group name.
DEFAULT_MEAL_TIMES: dict[str, str] = {
    "breakfast": "08:00",
    "lunch": "12:30",
    "dinner": "18:30",
    "supper": "18:30",
    "snack 1": "10:30",
    "snack 2": "15:30",
    "snack 3": "21:00",
    "snack": "15:30",
    "snacks": "15:30",
}

TRUTHY = frozenset({"y", "yes", "x", "1", "true", "✓", "✔", "done", "ja", "oui", "si", "sí"})

SPU_WORDS = frozenset({"spu", "spus", "soleus"})
MEAL_WORDS = frozenset(
    {"meal", "food", "breakfast", "lunch", "dinner", "supper", "brunch", "snack", "snacks"}
)
INSULIN_WORDS = frozenset({"insulin", "bolus", "basal"})
NOTE_WORDS = frozenset({"note", "notes", "comment"})
EXERCISE_WORDS = frozenset(
    {
        "exercise", "workout", "activity", "walk", "walking", "run", "running", "jog", "jogging",
        "cycle", "cycling", "bike", "biking", "gym", "swim", "swimming", "yoga", "hike", "hiking",
        "stairs", "strength", "weights", "sport", "dance", "dancing", "rowing", "tennis",
        "football", "soccer", "squats", "pilates", "stretching", "other",
    }
)  # fmt: skip

_DATE_PART = r"(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})[-/.](?P<c>\d{1,4})"
_TIME_PART = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?"
)
_DT_RE = rf"^\s*{_DATE_PART}(?:(?:[ T]+|\s*,\s*){_TIME_PART})?\s*$"
_TIME_RE = rf"^\s*{_TIME_PART}\s*$"


# --------------------------------------------------------------------------- date and time
def _int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _clock(m: pd.DataFrame) -> pd.Series:
    """Seconds after midnight from regex groups H, M, S, ampm (NaN where invalid)."""
    h = _int(m["H"]).to_numpy(dtype="float64")
    mi = _int(m["M"]).to_numpy(dtype="float64")
    sec = np.nan_to_num(_int(m["S"]).to_numpy(dtype="float64"), nan=0.0)
    ampm = m["ampm"].fillna("").astype(str).str.lower().str.replace(r"[^apm]", "", regex=True)
    has = ampm.ne("").to_numpy(dtype=bool)
    pm = ampm.str.startswith("p").to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = (has & ((h < 1) | (h > 12))) | (~has & (h > 23)) | (mi > 59) | (sec > 59)
        h = np.where(has, (h % 12) + np.where(pm, 12, 0), h)
    out = h * 3600 + mi * 60 + sec
    return pd.Series(np.where(bad, np.nan, out), index=m.index)


def parse_times(values: pd.Series) -> pd.Series:
    """Parse clock times (``13:05``, ``8:33 AM``, ``13:05:30``) to ``timedelta64`` after midnight.

    Anything else (including empty) becomes ``NaT``.
    """
    m = pd.Series(values, dtype=object).astype(str).str.extract(_TIME_RE)
    return pd.to_timedelta(_clock(m), unit="s")


def parse_datetimes(
    values: pd.Series,
    date_order: str | None = None,
    *,
    path: str | PathLike | None = None,
    column: str = "",
    lines: np.ndarray | None = None,
) -> pd.Series:
    """Parse dates or date-times written by people or spreadsheets to tz-naive ``datetime64``.

    Accepted: ``2026-03-02 12:35``, ``2026-03-02T12:35:00``, ``2026/03/02``, ``02.03.2026 12:35``
    (dots: day first), and ``02/03/2026 12:35`` or ``03-02-26 1:35 PM`` whose day/month order is
    ``date_order`` (``"dmy"`` or ``"mdy"``) or, when omitted, inferred from the whole column
    (a first field above 12 means day first, a second above 12 month first). Impossible dates
    (30 February) become ``NaT``; so does anything unparseable or empty.

    Raises
    ------
    InputError
        When day/month order is needed but cannot be told, or the column mixes both orders.
    """
    if date_order not in (None, "dmy", "mdy"):
        raise InputError(f"date_order must be 'dmy' or 'mdy', not {date_order!r}", path)
    s = pd.Series(values, dtype=object).astype(str)
    m = s.str.extract(_DT_RE)
    a, b, c = _int(m["a"]), _int(m["b"]), _int(m["c"])
    ymd = m["a"].str.len().eq(4)
    dotted = m["sep"].eq(".") & ~ymd
    amb = m["a"].notna() & ~ymd & ~dotted
    order = date_order
    if order is None and amb.any():
        day_first = amb & (a > 12)
        month_first = amb & (b > 12)
        if day_first.any() and month_first.any():
            i, j = np.flatnonzero(day_first)[0], np.flatnonzero(month_first)[0]
            where = f" (lines {lines[i]} and {lines[j]})" if lines is not None else ""
            raise InputError(
                f"column {column!r} mixes day-first and month-first dates{where}; "
                "expected one order throughout",
                path,
            )
        if day_first.any():
            order = "dmy"
        elif month_first.any():
            order = "mdy"
        else:
            i = np.flatnonzero(amb)[0]
            raise InputError(
                f"cannot tell day from month in column {column!r} (e.g. {s.iloc[i].strip()!r}); "
                "pass date_order='dmy' (day first) or 'mdy' (month first), or write ISO dates "
                "(2026-03-02 12:35); command line: --date-order dmy or mdy",
                path,
                None if lines is None else int(lines[i]),
            )
    dmy = (dotted | (amb & (order == "dmy"))).to_numpy(dtype=bool)
    ymd_ = ymd.to_numpy(dtype=bool)
    a_, b_, c_ = (x.to_numpy(dtype="float64") for x in (a, b, c))
    year = np.where(ymd_, a_, c_)
    with np.errstate(invalid="ignore"):
        year = np.where(year < 100, year + 2000, year)
    month = np.where(ymd_ | dmy, b_, a_)
    day = np.where(ymd_, c_, np.where(dmy, a_, b_))
    secs = np.where(m["H"].notna().to_numpy(dtype=bool), _clock(m).to_numpy(), 0.0)
    frame = pd.DataFrame({"year": year, "month": month, "day": day}, index=s.index)
    date = pd.to_datetime(frame, errors="coerce")
    out = date + pd.to_timedelta(secs, unit="s")
    return to_ns(out)


def _has_clock(values: pd.Series) -> pd.Series:
    return pd.Series(values, dtype=object).astype(str).str.contains(r"\d:\d\d", regex=True)


def _default_times(groups: pd.Series) -> pd.Series:
    """Default clock time (timedelta) per diary group name, NaT when none."""
    key = groups.astype(str).str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return pd.to_timedelta(key.map(DEFAULT_MEAL_TIMES).fillna("nan") + ":00", errors="coerce")


# --------------------------------------------------------------------------- activity log
_ACTIVITY_ALIASES: dict[str, tuple[str, ...]] = {
    "start": ("start", "start_time", "started", "begin", "from", "datetime", "date_time"),
    "date": ("date", "day"),
    "time": ("time", "clock"),
    "end": ("end", "end_time", "stop", "until", "finish", "ended"),
    "duration_min": (
        "duration_min",
        "duration_mins",
        "duration_minutes",
        "duration",
        "minutes",
        "mins",
    ),
    "kind": ("kind", "activity", "what"),
    "intensity": ("intensity", "effort"),
    "carbs_g": ("carbs_g", "carbs", "carbohydrates_g", "carbohydrates", "carb_g"),
    "insulin_u": ("insulin_u", "insulin_units", "insulin", "units"),
    "notes": ("notes", "note", "label", "comment", "comments", "description"),
    "subject": ("subject", "participant", "person"),
    "done": ("done", "completed"),
    "condition": ("condition", "arm"),
    # the planner's own columns (soleus plan): the block is kept, the others are its bookkeeping
    "block": ("block",),
    "meal_no": ("meal_no",),
    "slot": ("slot",),
}


def _resolve(
    columns: list[str], aliases: dict[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[str]]:
    """Map canonical names to the first present alias; also return unused columns."""
    found: dict[str, str] = {}
    for canon, names in aliases.items():
        for n in names:
            if n in columns and n not in found.values():
                found[canon] = n
                break
    unused = [c for c in columns if c not in found.values() and not c.startswith("_")]
    return found, unused


def sniff_activity_log(text: str, raw: bytes) -> bool:
    """Header (after ``#`` comments) with a ``kind`` column and ``start`` (or ``date`` + ``time``)."""
    cols = set(first_header(text))
    has_start = bool(cols & {"start", "start_time"}) or {"date", "time"} <= cols
    return "kind" in cols and has_start


def classify_kind(words: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Map free-text activity words to canonical kinds.

    Returns
    -------
    kind : Series
        ``spu``, ``meal``, ``insulin``, ``note``, ``exercise`` or missing (unknown word).
    word : Series
        The normalised word (lower case, ``-``/``_`` as spaces).
    """
    w = (
        words.astype(str)
        .str.strip()
        .str.lower()
        .str.replace(r"[-_]+", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
    )
    kind = pd.Series(None, index=w.index, dtype=object)
    kind[w.isin(MEAL_WORDS)] = "meal"
    kind[w.isin(INSULIN_WORDS)] = "insulin"
    kind[w.isin(NOTE_WORDS)] = "note"
    kind[w.isin(EXERCISE_WORDS)] = "exercise"
    kind[w.str.contains(r"\bsoleus\b") | w.isin(SPU_WORDS)] = "spu"
    return kind, w


def read_activity_log(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read the project's activity log CSV (see ``docs/activity_log.md``).

    Parameters
    ----------
    path : str or PathLike
        The CSV file (``,``, ``;`` or tab separated; ``#`` lines are comments).
    subject : str, optional
        Subject id for every row (overrides a ``subject`` column); defaults to the ``subject``
        column, else :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    date_order : {"dmy", "mdy"}, optional
        Day/month order of slashed dates (``02/03/2026``); inferred from the column when it can
        be told, else required.

    Returns
    -------
    Recording
        Events only: ``spu``/``exercise`` bouts with ``end``, ``meal`` (``carbs_g`` in g),
        ``insulin`` (``insulin_u`` in units), ``note``; extra column ``condition`` when the file
        has one (planner schedules).

    Raises
    ------
    InputError
        Empty file, no data rows, missing ``kind`` or start columns, ambiguous date order.
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "activity_log", comments=True)
    col, unused = _resolve([c for c in table.columns if c != "_line"], _ACTIVITY_ALIASES)
    if "kind" not in col:
        raise InputError(
            f"no 'kind' column (found {column_list(sorted(set(table.columns) - {'_line'}), col.values())}); "
            "expected columns start, end or duration_min, kind",
            p,
            header_line,
        )
    if "start" not in col and not {"date", "time"} <= set(col):
        raise InputError(
            "no 'start' column (nor 'date' and 'time'); expected columns start, end or "
            "duration_min, kind",
            p,
            header_line,
        )
    for u in unused:
        prov.warn(f"ignored column {u!r}")
    table = table.loc[:, ~table.columns.str.startswith("_unnamed")]
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    empty = pd.Series("", index=table.index, dtype=object)

    def get(name: str) -> pd.Series:
        return table[col[name]] if name in col else empty

    # planner schedules: only rows marked done happened
    if "done" in col:
        done = get("done").str.lower().isin(TRUTHY)
        # counted, not warned about line by line: a schedule in progress has meals still ahead
        drops.drop(~done.to_numpy(), "planned but not marked done", warn=False)

    # kind
    kind, word = classify_kind(get("kind"))
    drops.drop(word.eq("").to_numpy(), "missing kind")

    # start: a datetime, or date + clock time
    start_txt = get("start")
    if "date" in col:
        clock_txt = (
            start_txt.where(start_txt.ne(""), get("time")) if "start" in col else get("time")
        )
        is_clock = _has_clock(clock_txt) & ~clock_txt.str.contains(r"\d[-/.]\d", regex=True)
        date = parse_datetimes(get("date"), date_order, path=p, column=col["date"], lines=lines)
        start_a = date + parse_times(clock_txt)
        start_b = parse_datetimes(clock_txt, date_order, path=p, column="start", lines=lines)
        start = start_a.where(is_clock, start_b)
        missing = clock_txt.eq("")
    else:
        start = parse_datetimes(start_txt, date_order, path=p, column=col["start"], lines=lines)
        missing = start_txt.eq("")
        drops.drop(
            (~missing & start.isna() & parse_times(start_txt).notna()).to_numpy(),
            "start time without a date",
        )
    drops.drop(missing.to_numpy(), "missing start")
    drops.drop(start.isna().to_numpy(), "impossible timestamp")

    # end: datetime, or bare clock time on the start's day (next day when before the start)
    end_txt = get("end")
    end_full = parse_datetimes(
        end_txt.where(end_txt.str.contains(r"\d[-/.]\d", regex=True), ""),
        date_order,
        path=p,
        column="end",
        lines=lines,
    )
    end_clock = start.dt.normalize() + parse_times(end_txt)
    end_clock = end_clock.where(~(end_clock < start), end_clock + pd.Timedelta(days=1))
    end = end_full.where(end_full.notna(), end_clock)
    drops.drop((end_txt.ne("") & end.isna()).to_numpy(), "bad end time")
    drops.drop((end < start).to_numpy(), "end before start")
    dur, dur_bad = numbers(get("duration_min"))
    dur_bad |= (dur < 0).to_numpy() | (dur > 24 * 60).to_numpy()
    drops.drop(dur_bad, "bad duration")
    end_dur = start + minutes_to_timedelta(dur).to_numpy()
    conflict = end.notna() & end_dur.notna() & ((end - end_dur).abs() > pd.Timedelta(minutes=1))
    warn_each(
        prov,
        lines[conflict.to_numpy() & drops.open],
        "end and duration_min disagree; used end",
        "where end and duration_min disagree (end used)",
    )
    end = end.where(end.notna(), end_dur)
    # tolerant: a note or exercise row whose text names SPU ("SPU 30") is an SPU bout, its
    # minutes taken from the text when no end or duration was given
    spu_text = get("notes").str.cat(get("kind"), sep=" ")
    named_spu = kind.isin(["note", "exercise"]) & spu_mask(spu_text)
    kind = kind.where(~named_spu, "spu")
    text_end = start + pd.to_timedelta(spu_minutes(spu_text), unit="min")
    end = end.where(end.notna() | ~named_spu, text_end)
    has_span = end.notna().to_numpy()

    # unknown words: exercise when a span is given, else dropped
    unknown = kind.isna().to_numpy() & word.ne("").to_numpy()
    drops.drop(
        unknown & ~has_span, np.array([f"unknown kind {w[:40]!r}" for w in word], dtype=object)
    )
    kind = kind.where(~(unknown & has_span), "exercise")
    activity = kind.isin(["spu", "exercise"]).to_numpy()
    drops.drop(activity & ~has_span, "no end or duration")

    carbs, carbs_bad = numbers(get("carbs_g"))
    drops.drop(carbs_bad | (carbs < 0).to_numpy(), "bad carbs")
    insulin, ins_bad = numbers(get("insulin_u"))
    drops.drop(ins_bad | (insulin < 0).to_numpy(), "bad insulin")
    span = ((end - start).dt.total_seconds() / 60).to_numpy()
    why = implausible(times=start, carbs_g=carbs, insulin_u=insulin, duration_min=span)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711

    keep = drops.commit()
    note_txt = get("notes")
    generic = word.isin({"meal", "food", "note", "notes", "insulin", "spu", "spus", "exercise"})
    orig = get("kind")
    exercise_label = orig.where(note_txt.eq(""), orig + ": " + note_txt)
    label = note_txt.where(note_txt.ne("") | generic | kind.eq("spu"), orig)
    label = label.where(~kind.eq("exercise"), exercise_label)
    label = label.where(label.ne(""), None)
    if subject is not None:
        subj = pd.Series(subject, index=table.index, dtype=object)
    else:
        s = get("subject")
        subj = s.where(s.ne(""), DEFAULT_SUBJECT)
    intensity = get("intensity")
    out = pd.DataFrame(
        {
            "subject": subj,
            "time": start,
            "end": end,
            "kind": kind,
            "carbs_g": carbs,
            "insulin_u": insulin,
            "intensity": intensity.where(intensity.ne(""), None),
            "label": label,
            "source": "activity_log",
        }
    )
    if "condition" in col:
        cond = get("condition")
        out["condition"] = cond.where(cond.ne(""), None)
    if "block" in col:  # the planner's randomisation block: the N-of-1 test permutes within it
        block = get("block")
        out["block"] = block.where(block.ne(""), None)
    out = out.loc[keep].sort_values(["subject", "time"], kind="stable").reset_index(drop=True)
    prov.rows_kept = len(out)
    return Recording(events=out, provenance=prov.check())


# --------------------------------------------------------------------------- Cronometer
def _require(table: pd.DataFrame, names: list[str], path: Path, line: int, what: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} for a {what}; found "
            f"{sorted(c for c in table.columns if c != '_line')}",
            path,
            line,
        )


def _diary_times(
    table: pd.DataFrame,
    day: pd.Series,
    time_txt: pd.Series,
    group: pd.Series,
    drops: RowAccount,
    prov: Provenance,
    siblings: bool = True,
) -> pd.Series:
    """Start datetimes of diary rows: the row's time; else the earliest timed row of the same day
    and group (when ``siblings``); else the group's default time (with a warning); else dropped
    ``"no time"``."""
    clock = parse_times(time_txt)
    drops.drop((time_txt.ne("") & clock.isna()).to_numpy(), "impossible timestamp")
    t = day + clock
    if siblings:
        timed = t.where(drops.open)
        sibling = timed.groupby([day, group.str.lower()], dropna=False).transform("min")
    else:
        sibling = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    default = day + _default_times(group)
    use_default = t.isna() & sibling.isna() & default.notna() & day.notna()
    told = use_default.to_numpy() & drops.open
    said = [
        f"no time given; used the default {d} for {g!r}"
        for g, d in zip(
            group[told][:MAX_WARNINGS_PER_REASON],
            default[told][:MAX_WARNINGS_PER_REASON].dt.strftime("%H:%M"),
            strict=True,
        )
    ]
    warn_each(
        prov,
        table["_line"].to_numpy()[told],
        said,
        "without a time, given their meal's default time",
    )
    out = t.where(t.notna(), sibling).where(lambda x: x.notna(), default)
    drops.drop((out.isna() & day.notna()).to_numpy(), "no time")
    return out


#: What a servings export without times of day is told (Cronometer's own name for the setting).
CRONOMETER_NO_TIMES = (
    "this Cronometer servings export has no times of day (no 'Time' column, or every Time "
    "empty), so its foods cannot be matched to post-meal glucose; turn on Timestamps in "
    "Cronometer (a Gold feature: each diary entry then gets its time of day), then export the "
    "servings again"
)


def _require_times(table: pd.DataFrame, path: Path, line: int) -> None:
    """Refuse a servings export without any time of day (:data:`CRONOMETER_NO_TIMES`)."""
    if "time" not in table.columns or not table["time"].astype(str).str.strip().ne("").any():
        raise InputError(CRONOMETER_NO_TIMES, path, line)


def sniff_cronometer(text: str, raw: bytes) -> bool:
    """Cronometer servings export: ``Day``, ``Group`` and ``Food Name`` columns."""
    return {"day", "group", "food_name"} <= set(first_header(text, comments=False))


def sniff_cronometer_daily(text: str, raw: bytes) -> bool:
    """Cronometer daily-summary export: ``Date`` and ``Energy (kcal)``, no food or meal column."""
    cols = set(first_header(text, comments=False))
    return {"date", "energy_kcal"} <= cols and not cols & {"food_name", "meal", "group"}


#: Why a Cronometer daily-summary export cannot be read (it is refused with this line).
CRONOMETER_DAILY = (
    "is a Cronometer daily-summary export (one row of nutrient totals per day, no meals and no "
    "times of day), not a meal log; export 'Servings' from Cronometer instead, with Timestamps "
    "turned on"
)


def refuse_cronometer_daily(path: str | PathLike, **_options: object) -> None:
    """Refuse a Cronometer daily-summary export (:data:`CRONOMETER_DAILY`)."""
    raise InputError(CRONOMETER_DAILY, path)


def sniff_cronometer_exercises(text: str, raw: bytes) -> bool:
    """Cronometer exercise export: ``Day``, ``Exercise`` and ``Minutes`` columns."""
    return {"day", "exercise", "minutes"} <= set(first_header(text, comments=False))


def sniff_myfitnesspal(text: str, raw: bytes) -> bool:
    """MyFitnessPal export: ``Date``, ``Meal`` and ``Carbohydrates (g)`` columns."""
    return {"date", "meal", "carbohydrates_g"} <= set(first_header(text, comments=False))


def read_cronometer(
    path: str | PathLike,
    subject: str | None = None,
    merge_minutes: float = 30,
    date_order: str | None = None,
) -> Recording:
    """Read a Cronometer servings export and group food items into meals.

    Items of the same ``Day`` and ``Group`` belong to one meal until an item comes more than
    ``merge_minutes`` after the previous one, which starts a new meal. An item without ``Time``
    takes the earliest time of its day and group, else the group's default time
    (:data:`DEFAULT_MEAL_TIMES`, with a warning), else it is dropped (``"no time"``). An
    export with no time of day at all (Cronometer's Timestamps turned off) is refused.

    Parameters
    ----------
    path : str or PathLike
        The servings CSV (``Day,Time,Group,Food Name,Amount,...,Carbs (g),...``).
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).
    merge_minutes : float
        Largest gap (min) between consecutive items of one meal.
    date_order : {"dmy", "mdy"}, optional
        Only for non-ISO ``Day`` values.

    Returns
    -------
    Recording
        One ``meal`` event per meal: ``time`` = earliest item, ``carbs_g`` = sum of
        ``Carbs (g)`` (g), ``label`` = food names joined by ``"; "``; extra columns ``n_items``,
        ``kcal`` (sum of ``Energy (kcal)``) and ``net_carbs_g``. Provenance counts *item rows*:
        ``rows_kept`` is the number of items that went into a meal, not the number of meals.

    Raises
    ------
    InputError
        Missing columns, or no time of day at all (:data:`CRONOMETER_NO_TIMES`).
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "cronometer")
    _require(
        table,
        ["day", "group", "food_name", "carbs_g"],
        p,
        header_line,
        "Cronometer servings export",
    )
    _require_times(table, p, header_line)
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    day = parse_datetimes(table["day"], date_order, path=p, column="Day", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    time_txt = table["time"]
    group = table["group"]
    start = _diary_times(table, day.dt.normalize(), time_txt, group, drops, prov)
    carbs, carbs_bad = numbers(table["carbs_g"])
    drops.drop(carbs_bad | (carbs < 0).to_numpy(), "bad carbs")
    why = implausible(times=start, carbs_g=carbs)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["energy_kcal"])[0] if "energy_kcal" in table else np.nan
    net = numbers(table["net_carbs_g"])[0] if "net_carbs_g" in table else np.nan
    keep = drops.commit()
    items = pd.DataFrame(
        {
            "day": day.dt.normalize(),
            "group": group.str.lower(),
            "time": start,
            "carbs_g": carbs,
            "kcal": kcal,
            "net_carbs_g": net,
            "food": table["food_name"],
            "_line": lines,
        }
    ).loc[keep]
    items = items.sort_values(["day", "group", "time", "_line"], kind="stable")
    new_group = (items["day"].ne(items["day"].shift())) | (
        items["group"].ne(items["group"].shift())
    )
    gap = items["time"].diff() > pd.Timedelta(minutes=merge_minutes)
    meal_id = (new_group | gap).cumsum()
    g = items.groupby(meal_id, sort=False)
    meals = pd.DataFrame(
        {
            "time": g["time"].min(),
            "carbs_g": g["carbs_g"].sum(min_count=1),
            "label": g["food"].agg(lambda s: "; ".join(x for x in s if x)),
            "n_items": g.size(),
            "kcal": g["kcal"].sum(min_count=1),
            "net_carbs_g": g["net_carbs_g"].sum(min_count=1),
        }
    )
    meals.insert(0, "subject", subject or DEFAULT_SUBJECT)
    meals["end"] = pd.NaT
    meals["kind"] = "meal"
    meals["source"] = "cronometer"
    prov.rows_kept = int(keep.sum())
    meals = meals.sort_values("time", kind="stable").reset_index(drop=True)
    meals["n_items"] = meals["n_items"].astype("int64")
    return Recording(events=meals, provenance=prov.check())


def read_cronometer_exercises(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a Cronometer exercise export (``Day,Time,Exercise,Minutes,Calories Burned,Group``).

    Returns
    -------
    Recording
        ``exercise`` events (``spu`` when the name mentions soleus/SPU) with ``end = time +
        Minutes``; ``label`` = the exercise name; extra column ``kcal`` (calories burned). Rows
        without a positive ``Minutes`` are dropped (``"no duration"``); rows without ``Time``
        take their group's default time (with a warning) or are dropped (``"no time"``).
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "cronometer_exercises")
    _require(table, ["day", "exercise", "minutes"], p, header_line, "Cronometer exercise export")
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    empty = pd.Series("", index=table.index, dtype=object)
    day = parse_datetimes(table["day"], date_order, path=p, column="Day", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    start = _diary_times(
        table,
        day.dt.normalize(),
        table.get("time", empty),
        table.get("group", empty),
        drops,
        prov,
        siblings=False,
    )
    minutes, min_bad = numbers(table["minutes"])
    drops.drop(min_bad | ~(minutes > 0).to_numpy(), "no duration")
    why = implausible(times=start, duration_min=minutes)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["calories_burned"])[0] if "calories_burned" in table else np.nan
    keep = drops.commit()
    name = table["exercise"]
    out = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": start,
            "end": start + minutes_to_timedelta(minutes).to_numpy(),
            "kind": np.where(name.str.contains(SPU_RE), "spu", "exercise"),
            "label": name,
            "source": "cronometer",
            "kcal": kcal,
        }
    ).loc[keep]
    prov.rows_kept = len(out)
    out = out.sort_values("time", kind="stable").reset_index(drop=True)
    return Recording(events=out, provenance=prov.check())


# --------------------------------------------------------------------------- MyFitnessPal
def read_myfitnesspal(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a MyFitnessPal export (``Date,Meal,Time,Calories,...,Carbohydrates (g),...,Note``).

    Rows of the same ``Date`` and ``Meal`` are summed into one ``meal`` event at the earliest
    time. A row without ``Time`` (or a file without the column) takes the meal's default time
    (:data:`DEFAULT_MEAL_TIMES`, with a warning), else it is dropped (``"no time"``).

    Returns
    -------
    Recording
        ``meal`` events: ``carbs_g`` (g), ``label`` = meal name (and notes), extra columns
        ``n_items`` (rows summed) and ``kcal``. Provenance counts rows, not meals.
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "myfitnesspal")
    _require(table, ["date", "meal", "carbohydrates_g"], p, header_line, "MyFitnessPal export")
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    empty = pd.Series("", index=table.index, dtype=object)
    day = parse_datetimes(table["date"], date_order, path=p, column="Date", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    meal = table["meal"]
    start = _diary_times(table, day.dt.normalize(), table.get("time", empty), meal, drops, prov)
    carbs, carbs_bad = numbers(table["carbohydrates_g"])
    drops.drop(carbs_bad | (carbs < 0).to_numpy(), "bad carbs")
    why = implausible(times=start, carbs_g=carbs)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["calories"])[0] if "calories" in table else np.nan
    keep = drops.commit()
    note = table.get("note", empty)
    rows = pd.DataFrame(
        {
            "day": day.dt.normalize(),
            "meal": meal,
            "time": start,
            "carbs_g": carbs,
            "kcal": kcal,
            "note": note,
        }
    ).loc[keep]
    g = rows.groupby(["day", rows["meal"].str.lower()], sort=False)
    meals = pd.DataFrame(
        {
            "time": g["time"].min(),
            "carbs_g": g["carbs_g"].sum(min_count=1),
            "kcal": g["kcal"].sum(min_count=1),
            "n_items": g.size(),
            "meal": g["meal"].first(),
            "notes": g["note"].agg(lambda s: "; ".join(x for x in s if x)),
        }
    ).reset_index(drop=True)
    label = meals["meal"].where(meals["notes"].eq(""), meals["meal"] + ": " + meals["notes"])
    out = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": meals["time"],
            "end": pd.NaT,
            "kind": "meal",
            "carbs_g": meals["carbs_g"],
            "label": label,
            "source": "myfitnesspal",
            "n_items": meals["n_items"].astype("int64"),
            "kcal": meals["kcal"],
        }
    )
    prov.rows_kept = int(keep.sum())
    out = out.sort_values("time", kind="stable").reset_index(drop=True)
    return Recording(events=out, provenance=prov.check())


SNIFFERS: list[tuple[str, Callable[[str, bytes], bool]]] = [
    ("cronometer", sniff_cronometer),
    ("cronometer_exercises", sniff_cronometer_exercises),
    ("myfitnesspal", sniff_myfitnesspal),
    ("cronometer_daily_summary", sniff_cronometer_daily),
    ("activity_log", sniff_activity_log),
]

#: Exports that are no recording: named when given, and refused with what they are.
TABLES = {"cronometer_daily_summary": (refuse_cronometer_daily, CRONOMETER_DAILY)}

READERS: dict[str, Callable[..., Recording]] = {
    "activity_log": read_activity_log,
    "cronometer": read_cronometer,
    "cronometer_exercises": read_cronometer_exercises,
    "myfitnesspal": read_myfitnesspal,
}
