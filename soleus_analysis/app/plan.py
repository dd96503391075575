"""Plan a self-tracker's randomised soleus-pushup experiment.

:func:`make_schedule` draws which meals get soleus pushups (SPU): balanced by time of day and
blocked, so that within each meal slot (breakfast, lunch, dinner) every two consecutive meals
hold one SPU meal and one control meal in random order. The schedule is a CSV the person ticks
off (column ``done``) and that :func:`soleus_analysis.io.logs.read_activity_log` takes back as a
log; :func:`to_ics` turns it into calendar reminders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: default meal slots: name and planned clock time
DEFAULT_SLOTS: tuple[tuple[str, str], ...] = (
    ("breakfast", "08:00"),
    ("lunch", "12:30"),
    ("dinner", "18:30"),
)

SCHEDULE_COLUMNS = (
    "meal_no",
    "block",
    "slot",
    "condition",
    "start",
    "duration_min",
    "kind",
    "done",
    "notes",
)


def make_schedule(
    n_meals: int,
    *,
    start: dt.date | str | None = None,
    seed: int = 0,
    slots: Sequence[tuple[str, str]] = DEFAULT_SLOTS,
    spu_minutes: float = 30.0,
    block_size: int = 2,
) -> pd.DataFrame:
    """Draw a randomised, blocked SPU schedule.

    Parameters
    ----------
    n_meals : int
        Number of meals in the experiment (>= 2).
    start : date or str, optional
        First day (``YYYY-MM-DD``); default tomorrow.
    seed : int
        Seed of the randomisation: the same seed gives the same schedule.
    slots : sequence of (name, "HH:MM")
        The day's meal slots and planned times.
    spu_minutes : float
        Planned SPU duration from the start of the meal, minutes.
    block_size : int
        Meals of the same slot per randomisation block (even; half SPU, half control).

    Returns
    -------
    DataFrame
        One ``meal`` row per planned meal and, for SPU meals, one ``spu`` row starting at the
        meal, with columns :data:`SCHEDULE_COLUMNS`. ``start`` is local time ``YYYY-MM-DD HH:MM``;
        ``done`` is empty for the person to tick (``x``).
    """
    if n_meals < 2:
        raise ValueError("n_meals must be at least 2")
    if block_size < 2 or block_size % 2:
        raise ValueError("block_size must be an even number >= 2")
    rng = np.random.default_rng(seed)
    first = (
        pd.Timestamp(start).normalize()
        if start is not None
        else pd.Timestamp(dt.date.today() + dt.timedelta(days=1))
    )
    k = len(slots)
    idx = np.arange(n_meals)
    slot_i = idx % k
    day = idx // k
    occurrence = day  # n-th time this slot occurs
    block_in_slot = occurrence // block_size
    # per slot, per block: a random half of the block's meals get SPU. An incomplete last block
    # takes its meals' labels from a random order of a full block, so every meal, in every
    # position, is SPU with probability 1/2 and none is predetermined
    full = np.array(["spu", "control"] * (block_size // 2), dtype=object)
    cond = np.empty(n_meals, dtype=object)
    for s in range(k):
        members = idx[slot_i == s]
        for b in np.unique(block_in_slot[members]):
            m = members[block_in_slot[members] == b]
            cond[m] = rng.permutation(full)[: len(m)]
    times = [
        first + pd.Timedelta(days=int(d)) + pd.Timedelta(slots[s][1] + ":00")
        for d, s in zip(day, slot_i, strict=True)
    ]
    rows = []
    for i in idx:
        base = {
            "meal_no": int(i + 1),
            "block": f"{slots[slot_i[i]][0]}-{int(block_in_slot[i]) + 1}",
            "slot": slots[slot_i[i]][0],
            "condition": cond[i],
            "start": times[i].strftime("%Y-%m-%d %H:%M"),
            "done": "",
        }
        rows.append(base | {"duration_min": np.nan, "kind": "meal", "notes": "eat as usual"})
        if cond[i] == "spu":
            rows.append(
                base
                | {
                    "duration_min": float(spu_minutes),
                    "kind": "spu",
                    "notes": f"soleus pushups for {spu_minutes:g} min from the start of the meal",
                }
            )
    return pd.DataFrame(rows, columns=list(SCHEDULE_COLUMNS))


def balance_table(schedule: pd.DataFrame) -> pd.DataFrame:
    """Count SPU and control meals per slot (a check that the schedule is balanced)."""
    meals = schedule[schedule["kind"] == "meal"]
    return meals.pivot_table(
        index="slot", columns="condition", values="meal_no", aggfunc="count", fill_value=0
    )


def _ics_time(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y%m%dT%H%M%S")


def to_ics(schedule: pd.DataFrame, *, reminder_min: int = 10) -> str:
    """Calendar (iCalendar, RFC 5545) text with one event per planned meal, floating local time.

    SPU meals read "SPU meal: soleus pushups for N min"; control meals "Control meal: sit as usual".
    """
    stamp = pd.Timestamp("2000-01-01").strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//soleus_analysis//plan//EN",
        "CALSCALE:GREGORIAN",
    ]
    meals = schedule[schedule["kind"] == "meal"]
    spu = schedule[schedule["kind"] == "spu"].set_index("meal_no")["duration_min"]
    for _, r in meals.iterrows():
        t0 = pd.Timestamp(r["start"])
        if r["condition"] == "spu":
            dur = float(spu.get(r["meal_no"], 30.0))
            summary = f"SPU meal {r['meal_no']}: soleus pushups for {dur:g} min"
        else:
            dur = 30.0
            summary = f"Control meal {r['meal_no']}: sit as usual (no SPU)"
        lines += [
            "BEGIN:VEVENT",
            f"UID:soleus-meal-{r['meal_no']}-{_ics_time(t0)}@soleus-analysis",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_time(t0)}",
            f"DTEND:{_ics_time(t0 + pd.Timedelta(minutes=dur))}",
            f"SUMMARY:{summary}",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{summary}",
            f"TRIGGER:-PT{int(reminder_min)}M",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
