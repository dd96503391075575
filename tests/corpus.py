"""A corpus of export files shaped like the ones real users download, for end-to-end CLI tests.

``write_corpus(folder, seed)`` writes one person's CGM exports (Dexcom Clarity G6 and G7, LibreView
English-US and German, CareLink US, Apple Health, Nightscout), a research-style CSV with three
people, and meal/activity logs (the project's activity log, Cronometer, MyFitnessPal), all built
from the format documentation (``FORMATS.md`` and the real samples in ``tests/fixtures/real``), not
from what the readers accept. Each file is described by a :class:`CorpusFile` whose expected
counts the generator works out itself while writing the rows.

One simulated person underlies every file: the same meals, soleus-pushup (SPU) bouts and walks,
and one glucose trace (1-minute grid, rises after meals, smaller ones with SPU), which each
device samples at its own times with its own noise. So a CGM file and a log of the same period
describe the same days.

Personal data (:data:`PERSONAL`) is planted where each format really holds it, and in the file
names the way real downloads carry it, so a privacy test can search every output for it.
``CorpusFile.planted`` names the personal fields the file's *content* holds.

Everything is deterministic from ``seed`` (randomness only from ``numpy.random.default_rng``).
Times are local wall-clock times of a person in UTC+01:00 (no daylight-saving change inside the
period), except where the format stores UTC (Nightscout) or an offset (Apple Health).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

PERSONAL = {"first": "Zebediah", "last": "Quuxworth", "dob": "1971-04-13", "serial": "QX9Z7Y6W5V"}

#: mg/dL per mmol/L (FORMATS.md's one constant).
MGDL_PER_MMOL = 18.0156

#: The period every CGM file lies in (local time) and the moment the exports were made.
CGM_START = datetime(2025, 11, 6, 0, 0)
CGM_END = datetime(2025, 11, 20, 17, 0)
EXPORTED = datetime(2025, 11, 20, 17, 35, 12)
#: Local offset of the person (minutes east of UTC).
UTC_OFFSET_MIN = 60
#: The "other period" logs lie a year after the CGM period.
OTHER_SHIFT = timedelta(days=365)

#: ``CorpusFile.key`` of every file, in the order :func:`write_corpus` returns them.
FILE_KEYS = (
    "dexcom_g6",
    "dexcom_g7_mmol",
    "dexcom_insulin_only",
    "libreview_us",
    "libreview_de",
    "carelink_us",
    "apple_health",
    "nightscout_entries",
    "nightscout_treatments",
    "generic_3_subjects",
    "activity_log",
    "activity_log_other_period",
    "cronometer",
    "cronometer_other_period",
    "myfitnesspal",
    "cronometer_exercises",
)


@dataclass(frozen=True)
class CorpusFile:
    """One written file and what a correct reader should find in it.

    ``n_readings`` counts glucose readings that should be kept (censored Low/High included;
    scans, calibrations, meter rows of other types, duplicates excluded); ``n_scans`` the LibreView
    scans that ``include_scans=True`` adds; ``n_censored`` the Low/High readings among them.
    Event counts are the events written (a meal logged in two places of one file that the format
    documents as the same meal counts once). ``carbs_g`` is the total carbohydrate of the meals that
    state an amount; ``spu_minutes`` the total length of the SPU bouts that state one (a bout noted
    without minutes adds nothing). ``key`` is the file's stable name in :data:`FILE_KEYS`.
    ``period`` is the first and last local timestamp of the readings and events that should be
    kept (rows that are neither, e.g. basal rates or heart rate, are left out).
    """

    path: Path
    kind: str
    format: str
    description: str
    n_readings: int = 0
    n_meals: int = 0
    n_insulin: int = 0
    n_exercise: int = 0
    n_spu: int = 0
    period: tuple[datetime, datetime] | None = None
    subjects: int = 1
    n_scans: int = 0
    n_censored: int = 0
    carbs_g: float = 0.0
    spu_minutes: float = 0.0
    planted: tuple[str, ...] = ()
    key: str = ""


# --------------------------------------------------------------------------------------------
# The simulated person
# --------------------------------------------------------------------------------------------

_FOODS = {
    "breakfast": [
        ("Oats, rolled, dry", "40.00 g", 27.0, 150.4, "Breakfast Cereals"),
        ("Milk, 2%", "200.00 ml", 9.8, 100.0, "Dairy and Egg Products"),
        ("Banana", "1 medium", 27.0, 105.0, "Fruits"),
        ("Bread, whole wheat", "2 slices", 28.0, 160.0, "Baked Products"),
        ("Honey", "1 tbsp", 17.3, 64.0, "Sweets"),
        ("Yogurt, plain", "150.00 g", 7.0, 92.0, "Dairy and Egg Products"),
    ],
    "lunch": [
        ("Pasta, cooked", "180.00 g", 55.0, 284.0, "Cereal Grains and Pasta"),
        ("Tomato sauce", "100.00 g", 8.0, 50.0, "Vegetables"),
        ("Bread roll", "1 roll", 26.0, 140.0, "Baked Products"),
        ("Lentil soup", "300.00 ml", 30.0, 210.0, "Soups"),
        ("Apple", "1 medium", 25.0, 95.0, "Fruits"),
        ("Cheddar cheese", "30.00 g", 0.4, 120.0, "Dairy and Egg Products"),
    ],
    "dinner": [
        ("Rice, white, cooked", "200.00 g", 56.0, 260.0, "Cereal Grains and Pasta"),
        ("Chicken curry", "250.00 g", 12.0, 330.0, "Meals"),
        ("Potato, boiled", "200.00 g", 35.0, 154.0, "Vegetables"),
        ("Naan", "1 piece", 45.0, 262.0, "Baked Products"),
        ("Salmon, baked", "150.00 g", 0.0, 280.0, "Finfish and Shellfish Products"),
        ("Peas", "80.00 g", 11.0, 65.0, "Vegetables"),
    ],
    "snack": [
        ("Chocolate, dark", "20.00 g", 9.0, 110.0, "Sweets"),
        ("Apple", "1 medium", 25.0, 95.0, "Fruits"),
        ("Granola bar", "1 bar", 18.0, 120.0, "Snacks"),
        ("Orange juice", "200.00 ml", 20.8, 90.0, "Beverages"),
    ],
}
_SLOT_CLOCK = {"breakfast": (7, 40, 25), "lunch": (12, 40, 30), "dinner": (18, 50, 30)}


@dataclass(frozen=True)
class _Meal:
    time: datetime
    slot: str
    items: tuple[tuple[str, str, float, float, str], ...]
    spu_start: datetime | None = None
    spu_min: int = 0

    @property
    def carbs(self) -> float:
        return round(sum(i[2] for i in self.items), 1)

    @property
    def kcal(self) -> float:
        return round(sum(i[3] for i in self.items), 1)


@dataclass(frozen=True)
class _Walk:
    time: datetime
    minutes: int
    intensity: str  # Light / Medium / Heavy


@dataclass(frozen=True)
class _Person:
    meals: tuple[_Meal, ...]
    walks: tuple[_Walk, ...]
    t0: datetime
    glucose: np.ndarray  # mg/dL on a 1-minute grid from t0

    def at(self, times: list[datetime]) -> np.ndarray:
        """The true glucose at ``times`` (linear interpolation of the 1-minute grid)."""
        mins = np.array([(t - self.t0).total_seconds() / 60.0 for t in times])
        return np.interp(mins, np.arange(len(self.glucose)), self.glucose)


def _clock_noise(rng: np.random.Generator, sd: float) -> timedelta:
    return timedelta(minutes=int(round(float(rng.normal(0, sd)))))


def _schedule(rng: np.random.Generator, first_day: datetime, n_days: int, last: datetime):
    """Meals, SPU bouts and walks for ``n_days`` days from ``first_day`` (none after ``last``)."""
    meals, walks = [], []
    for d in range(n_days):
        day = first_day + timedelta(days=d)
        for slot, (h, m, sd) in _SLOT_CLOCK.items():
            t = day.replace(hour=h, minute=m) + _clock_noise(rng, sd / 2)
            pool = _FOODS[slot]
            k = int(rng.integers(2, 4))
            items = tuple(pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False)))
            spu_start, spu_min = None, 0
            if rng.random() < 0.5:
                spu_start = t + timedelta(minutes=int(rng.integers(0, 11)))
                spu_min = int(rng.choice([15, 20, 30, 30, 45, 60]))
            meals.append(_Meal(t, slot, items, spu_start, spu_min))
        if rng.random() < 0.45:
            t = day.replace(hour=15, minute=30) + _clock_noise(rng, 25)
            pool = _FOODS["snack"]
            meals.append(_Meal(t, "snack", (pool[int(rng.integers(len(pool)))],)))
        if rng.random() < 0.55:
            t = day.replace(hour=17, minute=0) + _clock_noise(rng, 40)
            walks.append(
                _Walk(t, int(rng.choice([20, 25, 30, 40])), str(rng.choice(["Light", "Medium"])))
            )
    meals = tuple(m for m in sorted(meals, key=lambda m: m.time) if m.time <= last)
    walks = tuple(w for w in sorted(walks, key=lambda w: w.time) if w.time <= last)
    return meals, walks


def _person(seed: int) -> _Person:
    rng = np.random.default_rng([seed, 0])
    meals, walks = _schedule(rng, CGM_START, 15, CGM_END - timedelta(minutes=20))
    t0 = CGM_START - timedelta(days=1)
    n = int((CGM_END + timedelta(days=1) - t0).total_seconds() // 60)
    minute = np.arange(n)
    hour = (minute / 60.0) % 24
    base = 97.0 + 7.0 * np.sin(2 * np.pi * (hour - 5.0) / 24.0)
    # slow drift: AR(1) with a 90-minute time scale and 7 mg/dL stationary SD
    phi = np.exp(-1.0 / 90.0)
    shocks = rng.normal(0.0, 7.0 * np.sqrt(1 - phi**2), n)
    drift = np.empty(n)
    drift[0] = 0.0
    for i in range(1, n):
        drift[i] = phi * drift[i - 1] + shocks[i]
    g = base + drift
    tp = 45.0
    for m in meals:
        start = int((m.time - t0).total_seconds() // 60)
        t = np.arange(0, 300, dtype=float)
        shape = (t / tp) ** 2 * np.exp(2 * (1 - t / tp))
        amp = 1.1 * m.carbs * float(rng.uniform(0.85, 1.15))
        if m.spu_start is not None:
            amp *= 0.6
        if any(timedelta(0) <= w.time - m.time <= timedelta(minutes=90) for w in walks):
            amp *= 0.85
        end = min(start + len(t), n)
        g[start:end] += amp * shape[: end - start]
    g = np.clip(g, 66.0, 235.0)
    return _Person(meals, walks, t0, g)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _every(start: datetime, end: datetime, seconds: float, rng, jitter_s: float = 0.0):
    """Times from ``start`` to ``end`` every ``seconds`` (+- uniform jitter, kept increasing)."""
    out, t = [], start
    while t <= end:
        out.append(t)
        step = seconds + (float(rng.uniform(-jitter_s, jitter_s)) if jitter_s else 0.0)
        t = t + timedelta(seconds=round(step))
    return out


def _drop_gaps(times: list[datetime], gaps: list[tuple[datetime, datetime]]) -> list[datetime]:
    return [t for t in times if not any(a <= t < b for a, b in gaps)]


def _sample(person: _Person, times: list[datetime], rng, sd: float, bias: float = 0.0):
    """Integer mg/dL readings of the true trace at ``times`` with sensor noise."""
    v = person.at(times) + bias + rng.normal(0.0, sd, len(times))
    return np.clip(np.round(v), 40, 400).astype(int)


def _in(t: datetime, a: datetime, b: datetime) -> bool:
    return a <= t <= b


def _h12(t: datetime, zero_pad: bool = True) -> str:
    """``08:05 AM`` (zero_pad) or ``8:05 AM``, independent of the C locale."""
    h = t.hour % 12 or 12
    ap = "AM" if t.hour < 12 else "PM"
    return f"{h:02d}:{t.minute:02d} {ap}" if zero_pad else f"{h}:{t.minute:02d} {ap}"


def _write(path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> None:
    text = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _period(times: list[datetime]) -> tuple[datetime, datetime] | None:
    return (min(times), max(times)) if times else None


def _hms(minutes: float) -> str:
    s = int(round(minutes * 60))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --------------------------------------------------------------------------------------------
# Dexcom Clarity
# --------------------------------------------------------------------------------------------

_DEXCOM_HEADER = [
    "Index",
    "Timestamp (YYYY-MM-DDThh:mm:ss)",
    "Event Type",
    "Event Subtype",
    "Patient Info",
    "Device Info",
    "Source Device ID",
    "Glucose Value (mg/dL)",
    "Insulin Value (u)",
    "Carb Value (grams)",
    "Duration (hh:mm:ss)",
    "Glucose Rate of Change (mg/dL/min)",
    "Transmitter Time (Long Integer)",
    "Transmitter ID",
]


def _dex_row(**cells) -> dict:
    return cells


def _dexcom_lines(header: list[str], preamble: list[dict], timed: list[dict], quoted: bool):
    """Header, preamble and timed rows (sorted by time); 14 fields for EGV/Calibration, else 13."""
    keys = [
        "ts",
        "type",
        "sub",
        "patient",
        "device",
        "src",
        "glucose",
        "insulin",
        "carbs",
        "duration",
        "rate",
        "tt",
        "tx",
    ]
    rows = preamble + sorted(timed, key=lambda r: (r["ts"], r.get("order", 0)))

    def fmt(fields: list[str]) -> str:
        return ",".join(f'"{f}"' for f in fields) if quoted else ",".join(fields)

    lines = [fmt(header)]
    for i, r in enumerate(rows, start=1):
        fields = [str(i)] + [
            r[k].strftime("%Y-%m-%dT%H:%M:%S") if k == "ts" and r.get(k) else str(r.get(k, ""))
            for k in keys
        ]
        if r["type"] not in ("EGV", "Calibration"):
            fields = fields[:13]
        lines.append(fmt(fields))
    return lines


def _dexcom_preamble(personal: dict, app: str, src: str, mmol: bool, dob: bool = True):
    rows = [
        _dex_row(type="FirstName", patient=personal["first"]),
        _dex_row(type="LastName", patient=personal["last"]),
    ]
    if dob:
        rows.append(_dex_row(type="DateOfBirth", patient=personal["dob"]))
    rows.append(_dex_row(type="Device", device=app, src=src))
    high, low, ulow, rate = ("11.1", "3.9", "3.1", "0.2") if mmol else ("200", "70", "55", "3")
    for sub, cells in [
        ("Fall", {"rate": rate}),
        ("High", {"glucose": high}),
        ("Low", {"glucose": low}),
        ("Signal Loss", {"duration": "00:20:00"}),
        ("Rise", {"rate": rate}),
        ("Urgent Low", {"glucose": ulow}),
        ("Urgent Low Soon", {"glucose": ulow}),
    ]:
        rows.append(_dex_row(type="Alert", sub=sub, src=src, **{"duration": "00:00:00", **cells}))
    return rows


def _rates(times: list[datetime], values: list[float], decimals: int) -> list[str]:
    out = [""]
    for i in range(1, len(times)):
        dt = (times[i] - times[i - 1]).total_seconds() / 60.0
        out.append(f"{(values[i] - values[i - 1]) / dt:.{decimals}f}" if dt <= 5.5 else "")
    return out


def _dexcom_g6(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 1])
    src = "android G6"
    start = CGM_START + timedelta(hours=8, minutes=2, seconds=17)
    times = _every(start, CGM_END, 300, rng, jitter_s=1.5)
    sensor_change = datetime(2025, 11, 16, 7, 40)
    gaps = [
        (sensor_change, sensor_change + timedelta(hours=2, minutes=5)),  # warm-up
        (datetime(2025, 11, 9, 3, 10), datetime(2025, 11, 9, 3, 50)),  # signal loss
    ]
    times = _drop_gaps(times, gaps)
    values = [int(v) for v in _sample(person, times, rng, sd=4.0)]
    words = [""] * len(times)
    for i in range(len(times)):  # a compression low (03:1x) and two High artefacts
        t = times[i]
        if t.date() == datetime(2025, 11, 12).date() and (3, 10) <= (t.hour, t.minute) < (3, 25):
            words[i] = "Low"
        if t.date() == datetime(2025, 11, 14).date() and (19, 30) <= (t.hour, t.minute) < (19, 40):
            words[i] = "High"
    rates = _rates(times, values, 1)
    tt0 = 2_436_417
    timed = []
    for t, v, w, rc in zip(times, values, words, rates, strict=True):
        tt = tt0 + int((t - start).total_seconds())
        if w:
            timed.append(
                _dex_row(ts=t, type="EGV", sub=w, src=src, glucose=w, tt=tt, tx=personal["serial"])
            )
        else:
            rc = rc if rng.random() < 0.8 else ""
            timed.append(
                _dex_row(
                    ts=t, type="EGV", src=src, glucose=v, rate=rc, tt=tt, tx=personal["serial"]
                )
            )
    n_readings = len(times)
    for t in (datetime(2025, 11, 7, 7, 12, 40), datetime(2025, 11, 16, 9, 58, 3)):  # fingersticks
        tt = tt0 + int((t - start).total_seconds())
        bg = int(person.at([t])[0] + 6)
        timed.append(
            _dex_row(ts=t, type="Calibration", src=src, glucose=bg, tt=tt, tx=personal["serial"])
        )
    n_meals = n_ins = n_ex = carbs = 0
    ev_times = []
    for m in person.meals:
        if rng.random() < 0.75:
            timed.append(_dex_row(ts=m.time, type="Carbs", src=src, carbs=int(round(m.carbs))))
            n_meals += 1
            carbs += int(round(m.carbs))
            ev_times.append(m.time)
            if m.slot != "snack":
                ti = m.time - timedelta(minutes=int(rng.integers(3, 12)))
                timed.append(
                    _dex_row(
                        ts=ti,
                        type="Insulin",
                        sub="Fast-Acting",
                        src=src,
                        insulin=f"{m.carbs / 10:.1f}",
                    )
                )
                n_ins += 1
                ev_times.append(ti)
    for d in range(14):
        t = (CGM_START + timedelta(days=d)).replace(hour=22, minute=5)
        timed.append(_dex_row(ts=t, type="Insulin", sub="Long-Acting", src=src, insulin="18"))
        n_ins += 1
        ev_times.append(t)
    for w in person.walks:
        sub = {"Light": "Light", "Medium": "Medium"}[w.intensity]
        timed.append(
            _dex_row(ts=w.time, type="Exercise", sub=sub, src=src, duration=_hms(w.minutes))
        )
        n_ex += 1
        ev_times.append(w.time)
    t = datetime(2025, 11, 8, 10, 0)  # a gym session: Heavy
    timed.append(_dex_row(ts=t, type="Exercise", sub="Heavy", src=src, duration="00:45:00"))
    n_ex += 1
    ev_times.append(t)
    for t, sub in (
        (datetime(2025, 11, 11, 9, 0), "Stress"),
        (datetime(2025, 11, 13, 20, 0), "Illness"),
    ):
        timed.append(_dex_row(ts=t, type="Health", sub=sub, src=src))
        ev_times.append(t)
    pre = _dexcom_preamble(personal, "Dexcom G6 Mobile App", src, mmol=False)
    lines = _dexcom_lines(_DEXCOM_HEADER, pre, timed, quoted=False)
    path = folder / f"CLARITY_Export_{personal['last']}_{personal['first']}_2025-11-20.csv"
    _write(path, lines, "\n", bom=True)
    return CorpusFile(
        path,
        "cgm",
        "dexcom_clarity",
        "Dexcom Clarity G6, mg/dL, UTF-8 BOM, unquoted, LF; preamble FirstName/LastName/"
        "DateOfBirth, Device and 7 Alert rows; EGV every ~300 s with a sensor-change warm-up gap "
        "and a 40-min signal loss; 3 Low and 2 High EGVs (censored, counted as readings); "
        "2 Calibration rows (not readings); Carbs, Fast-/Long-Acting Insulin, Exercise "
        "(Light/Medium/Heavy with Duration) and Health rows; no SPU (Dexcom has no SPU kind)",
        n_readings=n_readings,
        n_meals=n_meals,
        n_insulin=n_ins,
        n_exercise=n_ex,
        n_censored=sum(1 for w in words if w),
        carbs_g=carbs,
        period=_period(times + ev_times),
        planted=("first", "last", "dob", "serial"),
    )


def _dexcom_g7(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 2])
    src = "iOS G7"
    start = datetime(2025, 11, 10, 14, 12, 41)
    times = _every(start, CGM_END, 300, rng, jitter_s=1.5)
    times = _drop_gaps(times, [(datetime(2025, 11, 15, 1, 30), datetime(2025, 11, 15, 2, 5))])
    mgdl = _sample(person, times, rng, sd=3.5, bias=-3)
    mmol = [round(v / MGDL_PER_MMOL, 1) for v in mgdl]
    rates = _rates(times, mmol, 2)
    header = [
        h.replace("mg/dL", "mmol/L") if h.startswith("Glucose") else h for h in _DEXCOM_HEADER
    ]
    tx = personal["serial"]  # G7: one transmitter id per sensor; here it carries the serial
    timed = []
    for i, (t, v, rc) in enumerate(zip(times, mmol, rates, strict=True)):
        tt = int((t - start).total_seconds()) + 1800
        if i == 400:  # one Low at the bottom of the display range
            timed.append(
                _dex_row(ts=t, type="EGV", sub="Low", src=src, glucose="Low", tt=tt, tx=tx)
            )
        else:
            timed.append(
                _dex_row(ts=t, type="EGV", src=src, glucose=f"{v:.1f}", rate=rc, tt=tt, tx=tx)
            )
    ti = datetime(2025, 11, 17, 12, 31, 0)
    timed.append(_dex_row(ts=ti, type="Insulin", sub="Fast-Acting", src=src, insulin="4.5"))
    pre = _dexcom_preamble(personal, "Dexcom G7 Mobile App", src, mmol=True)
    lines = _dexcom_lines(header, pre, timed, quoted=True)
    path = folder / f"Clarity_Export_{personal['last']}_{personal['first']}_2025-11-20_173512.csv"
    _write(path, lines, "\r\n", bom=True)
    return CorpusFile(
        path,
        "cgm",
        "dexcom_clarity",
        "Dexcom Clarity G7, mmol/L (one decimal), every field quoted, UTF-8 BOM, CRLF; preamble "
        "with DateOfBirth; 10-day sensor with a 35-min gap and one Low EGV; exactly one Insulin "
        "row and no Carbs rows",
        n_readings=len(times),
        n_insulin=1,
        n_censored=1,
        period=_period([*times, ti]),
        planted=("first", "last", "dob", "serial"),
    )


def _dexcom_insulin_only(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 3])
    pen = personal["serial"]
    pre = _dexcom_preamble(personal, "Dexcom G7 Mobile App", "iOS G7", mmol=False, dob=False)
    pre.append(_dex_row(type="Device", device="Tempo Smart Button", src=pen))
    timed = []
    for m in person.meals:
        if m.slot != "snack" and m.time >= datetime(2025, 11, 13):
            t = m.time - timedelta(minutes=int(rng.integers(2, 10)))
            timed.append(
                _dex_row(
                    ts=t, type="Insulin", sub="Fast-Acting", src=pen, insulin=f"{m.carbs / 10:.1f}"
                )
            )
    for d in range(7, 14):
        t = (CGM_START + timedelta(days=d)).replace(hour=22, minute=2)
        timed.append(_dex_row(ts=t, type="Insulin", sub="Long-Acting", src=pen, insulin="18"))
    lines = _dexcom_lines(_DEXCOM_HEADER, pre, timed, quoted=True)
    path = (
        folder / f"Clarity_Export_{personal['last']}_{personal['first']}_2025-11-20_174001 (1).csv"
    )
    _write(path, lines, "\r\n", bom=True)
    return CorpusFile(
        path,
        "cgm",
        "dexcom_clarity",
        "Dexcom Clarity export holding only Insulin rows from a smart pen (Source Device ID = the "
        "pen serial) after the preamble: no EGV at all, so 0 readings",
        n_readings=0,
        n_insulin=len(timed),
        period=_period([r["ts"] for r in timed]),
        planted=("first", "last", "serial"),
    )


# --------------------------------------------------------------------------------------------
# LibreView
# --------------------------------------------------------------------------------------------

_LIBRE_EN = [
    "Device",
    "Serial Number",
    "Device Timestamp",
    "Record Type",
    "Historic Glucose mg/dL",
    "Scan Glucose mg/dL",
    "Non-numeric Rapid-Acting Insulin",
    "Rapid-Acting Insulin (units)",
    "Non-numeric Food",
    "Carbohydrates (grams)",
    "Carbohydrates (servings)",
    "Non-numeric Long-Acting Insulin",
    "Long-Acting Insulin (units)",
    "Notes",
    "Strip Glucose mg/dL",
    "Ketone mmol/L",
    "Meal Insulin (units)",
    "Correction Insulin (units)",
    "User Change Insulin (units)",
]
_LIBRE_DE = [
    "Gerät",
    "Seriennummer",
    "Gerätezeitstempel",
    "Aufzeichnungstyp",
    "Glukosewert-Verlauf mg/dL",
    "Glukose-Scan mg/dL",
    "Nicht numerisches schnellwirkendes Insulin",
    "Schnellwirkendes Insulin (Einheiten)",
    "Nicht numerische Nahrungsdaten",
    "Kohlenhydrate (Gramm)",
    "Kohlenhydrate (Portionen)",
    "Nicht numerisches Depotinsulin",
    "Depotinsulin (Einheiten)",
    "Notizen",
    "Glukose-Teststreifen mg/dL",
    "Keton mmol/L",
    "Mahlzeiteninsulin (Einheiten)",
    "Korrekturinsulin (Einheiten)",
    "Insulin-Änderung durch Anwender (Einheiten)",
]
# column positions
_HIST, _SCAN, _RAPID, _NNFOOD, _CARBS, _LONG, _NOTES = 4, 5, 7, 8, 9, 12, 13


def _libre_row(device: str, serial: str, ts: str, rtype: int, **cells) -> str:
    f = [""] * 19
    f[0], f[1], f[2], f[3] = device, serial, ts, str(rtype)
    for k, v in cells.items():
        f[int(k[1:])] = str(v)
    return ",".join(f)


def _libreview(
    folder: Path,
    person: _Person,
    personal: dict,
    seed: int,
    *,
    german: bool,
) -> CorpusFile:
    rng = np.random.default_rng([seed, 5 if german else 4])
    serial = personal["serial"]
    if german:
        device, step, jit = "FreeStyle Libre 2", 900, 0.0
        start = datetime(2025, 11, 6, 9, 7)

        def ts(t: datetime) -> str:
            return t.strftime("%d-%m-%Y %H:%M")

        title = (
            f"Glukose-Werte,Erstellt am,{(EXPORTED - timedelta(hours=1)).strftime('%d-%m-%Y %H:%M')}"
            f" UTC,Erstellt von,{personal['first']} {personal['last']}"
        )
        header = _LIBRE_DE
        # Libre 2 keeps 8 h of history: a night without a scan loses part of it
        gaps = [(datetime(2025, 11, 11, 1, 0), datetime(2025, 11, 11, 3, 40))]
    else:
        device, step, jit = "FreeStyle Libre 3", 300, 55.0
        start = datetime(2025, 11, 6, 8, 3)

        def ts(t: datetime) -> str:
            return t.strftime("%m-%d-%Y ") + _h12(t)

        gen = EXPORTED - timedelta(hours=1)
        title = (
            f"Glucose Data,Generated on,{gen.strftime('%m-%d-%Y ')}{_h12(gen)} UTC,"
            f"Generated by,{personal['first']} {personal['last']}"
        )
        header = _LIBRE_EN
        gaps = []
    end = CGM_END - timedelta(minutes=30)
    times = _drop_gaps(_every(start, end, step, rng, jitter_s=jit), gaps)
    # timestamps have no seconds: truncate, and keep one reading per minute
    hist_t, seen = [], set()
    for t in times:
        t = t.replace(second=0)
        if t not in seen:
            seen.add(t)
            hist_t.append(t)
    hist_v = _sample(person, hist_t, rng, sd=6.0, bias=4)
    rows0 = [
        _libre_row(device, serial, ts(t), 0, c4=v) for t, v in zip(hist_t, hist_v, strict=True)
    ]
    # scans: a few a day while awake
    scan_t = []
    day = start.replace(hour=0, minute=0)
    while day < end:
        for _ in range(int(rng.integers(3, 8))):
            t = day + timedelta(minutes=int(rng.integers(7 * 60, 23 * 60)))
            if start < t < end:
                scan_t.append(t)
        day += timedelta(days=1)
    scan_t = sorted(set(scan_t))
    scan_v = _sample(person, scan_t, rng, sd=6.0, bias=4)
    rows1 = [
        _libre_row(device, serial, ts(t), 1, c5=v) for t, v in zip(scan_t, scan_v, strict=True)
    ]
    meals = [m for m in person.meals if start < m.time < end]
    rows4, rows5, rows6, ev_t = [], [], [], []
    n_meals = n_ins = n_spu = 0
    carbs = spu_min = 0.0
    for d in range(15):
        t = (CGM_START + timedelta(days=d)).replace(hour=21, minute=55)
        if start < t < end:
            rows4.append((t, _libre_row(device, serial, ts(t), 4, c12=18)))
            n_ins += 1
    for i, m in enumerate(meals):
        r = rng.random()
        t = m.time.replace(second=0)
        if m.slot != "snack" and rng.random() < 0.7:
            rows4.append((t, _libre_row(device, serial, ts(t), 4, c7=f"{m.carbs / 10:.0f}")))
            n_ins += 1
            ev_t.append(t)
        if r < 0.6:
            rows5.append((t, _libre_row(device, serial, ts(t), 5, c9=int(round(m.carbs)))))
            n_meals += 1
            carbs += int(round(m.carbs))
            ev_t.append(t)
        elif r < 0.75:  # "food" without an amount
            rows5.append((t, _libre_row(device, serial, ts(t), 5, c8=1)))
            n_meals += 1
            ev_t.append(t)
        elif r < 0.82 and m.slot == "lunch" and not german:
            rows6.append((t, _libre_row(device, serial, ts(t), 6, c13="lunch")))  # a note only
            ev_t.append(t)
        if german or m.spu_start is None:
            continue
        s = m.spu_start.replace(second=0)
        if i % 5 == 1 and r < 0.6:  # the note on the food entry itself
            rows5[-1] = (
                t,
                _libre_row(
                    device, serial, ts(t), 5, c9=int(round(m.carbs)), c13=f"{m.spu_min} min SPU"
                ),
            )
            n_spu += 1
            spu_min += m.spu_min
        elif i % 7 == 3:
            rows6.append((s, _libre_row(device, serial, ts(s), 6, c13="soleus pushups")))
            n_spu += 1
            ev_t.append(s)
        elif rng.random() < 0.8:
            rows6.append((s, _libre_row(device, serial, ts(s), 6, c13=f"SPU {m.spu_min}")))
            n_spu += 1
            spu_min += m.spu_min
            ev_t.append(s)
    if german:
        t = datetime(2025, 11, 12, 17, 10)
        rows6.append((t, _libre_row(device, serial, ts(t), 6, c13="Spaziergang 30 min")))
        ev_t.append(t)
    # empty type-6 rows at sensor start
    empty6 = [
        (
            start + timedelta(minutes=k),
            _libre_row(device, serial, ts(start + timedelta(minutes=k)), 6),
        )
        for k in range(3)
    ]
    rows6 = empty6 + rows6
    lines = [title, ",".join(header), *rows0, *rows1]
    for group in (rows4, rows5, rows6):
        lines += [r for _, r in sorted(group, key=lambda x: x[0])]
    if german:
        path = folder / f"{personal['first']} {personal['last']} #2 Müller.csv"
    else:
        path = folder / f"{personal['first']} {personal['last']}_glucose_2025-11-20.csv"
    _write(path, lines, "\r\n")
    return CorpusFile(
        path,
        "cgm",
        "libreview",
        (
            "LibreView German (Gerätezeitstempel, day-first 24 h), FreeStyle Libre 2, mg/dL, "
            "15-min historic with a lost-history gap, scans, insulin (4), food with carbs and "
            "non-numeric food (5), a non-SPU note 'Spaziergang 30 min', empty type-6 rows"
            if german
            else "LibreView English US (month-first, 12-hour 'MM-DD-YYYY hh:mm AM'), FreeStyle "
            "Libre 3, mg/dL, 5-min historic (+-1 min), scans, rapid-/long-acting insulin (4), food "
            "with carbs and non-numeric food = 1 (5), notes (6: 'SPU 30', 'soleus pushups' without "
            "minutes, 'lunch'; food rows noted '<n> min SPU'), empty type-6 rows; rows grouped "
            "by record type, CRLF"
        ),
        n_readings=len(hist_t),
        n_meals=n_meals,
        n_insulin=n_ins,
        n_spu=n_spu,
        n_scans=len(scan_t),
        carbs_g=carbs,
        spu_minutes=spu_min,
        period=_period(hist_t + scan_t + ev_t),
        planted=("first", "last", "serial"),
    )


# --------------------------------------------------------------------------------------------
# CareLink (US)
# --------------------------------------------------------------------------------------------

_CARELINK_HEADER = (
    "Index,Date,Time,New Device Time,BG Reading (mg/dL),Linked BG Meter ID,Basal Rate (U/h),"
    "Temp Basal Amount,Temp Basal Type,Temp Basal Duration (h:mm:ss),Bolus Type,"
    "Bolus Volume Selected (U),Bolus Volume Delivered (U),Bolus Duration (h:mm:ss),Prime Type,"
    "Prime Volume Delivered (U),Alarm,Suspend,Rewind,BWZ Estimate (U),BWZ Target High BG (mg/dL),"
    "BWZ Target Low BG (mg/dL),BWZ Carb Ratio (g/U),BWZ Insulin Sensitivity (mg/dL/U),"
    "BWZ Carb Input (grams),BWZ BG Input (mg/dL),BWZ Correction Estimate (U),"
    "BWZ Food Estimate (U),BWZ Active Insulin (U),Sensor Calibration BG (mg/dL),"
    "Sensor Glucose (mg/dL),ISIG Value,Event Marker,Bolus Number,Bolus Cancellation Reason,"
    "BWZ Unabsorbed Insulin Total (U),Final Bolus Estimate,Scroll Step Size,"
    "Insulin Action Curve Time,Sensor Calibration Rejected Reason,Preset Bolus,Bolus Source,"
    "Network Device Associated Reason,Network Device Disassociated Reason,"
    "Network Device Disconnected Reason,Sensor Exception,Preset Temp Basal Name"
)


def _carelink(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 6])
    cols = _CARELINK_HEADER.split(",")
    col = {c: i for i, c in enumerate(cols)}
    start = datetime(2025, 11, 10, 17, 3, 12)
    times = _every(start, CGM_END, 300, rng, jitter_s=2)
    change = datetime(2025, 11, 16, 8, 20)  # sensor change (6-day Enlite) and 2-h warm-up
    times = _drop_gaps(times, [(change, change + timedelta(hours=2, minutes=10))])
    sg = _sample(person, times, rng, sd=7.0, bias=2)
    rows: list[tuple[datetime, int, dict]] = []  # (time, order within same time, cells)
    for t, v in zip(times, sg, strict=True):
        rows.append(
            (
                t,
                9,
                {
                    "Sensor Glucose (mg/dL)": str(v),
                    "ISIG Value": f"{v / 6.2 + rng.normal(0, 0.4):.2f}",
                },
            )
        )
    n_meals = n_ins = total_carbs = 0
    ev_t = []
    meals = [m for m in person.meals if start < m.time < CGM_END]
    mains = [m for m in meals if m.slot != "snack"]
    both = {mains[3].time, mains[17].time}  # logged as marker AND through the wizard
    for m in meals:
        carbs = int(round(m.carbs))
        total_carbs += carbs
        if m.slot == "snack":  # logbook entry, no bolus
            rows.append((m.time, 5, {"Event Marker": f"Meal: {carbs:.2f}grams"}))
            n_meals += 1
            ev_t.append(m.time)
            continue
        t = m.time - timedelta(minutes=int(rng.integers(2, 9)), seconds=int(rng.integers(60)))
        bg = float(person.at([t])[0])
        food = round(carbs / 10.0, 2)
        corr = round(max(0.0, (bg - 115) / 60.0), 2)
        active = round(float(rng.uniform(0, 1.2)), 2)
        total = round(max(food + corr - active, 0.1), 2)
        rows.append(
            (
                t,
                1,
                {
                    "BWZ Estimate (U)": f"{total:.2f}",
                    "BWZ Target High BG (mg/dL)": "115.00",
                    "BWZ Target Low BG (mg/dL)": "115.00",
                    "BWZ Carb Ratio (g/U)": "10.00",
                    "BWZ Insulin Sensitivity (mg/dL/U)": "60.00",
                    "BWZ Carb Input (grams)": f"{carbs:.2f}",
                    "BWZ BG Input (mg/dL)": f"{bg:.2f}" if corr else "0.00",
                    "BWZ Correction Estimate (U)": f"{corr:.2f}",
                    "BWZ Food Estimate (U)": f"{food:.2f}",
                    "BWZ Active Insulin (U)": f"{active:.2f}",
                },
            )
        )
        rows.append(
            (
                t,
                0,
                {
                    "Bolus Type": "Normal",
                    "Bolus Volume Selected (U)": f"{total:.2f}",
                    "Bolus Volume Delivered (U)": f"{total:.2f}",
                },
            )
        )
        n_meals += 1
        n_ins += 1
        ev_t.append(t)
        if m.time in both:
            tm = t + timedelta(minutes=3)
            rows.append((tm, 5, {"Event Marker": f"Meal: {carbs:.2f}grams"}))
            ev_t.append(tm)
    # a correction bolus through the wizard (no carbs: not a meal), and a square-wave bolus
    t = datetime(2025, 11, 14, 22, 40, 11)
    rows.append(
        (
            t,
            1,
            {
                "BWZ Estimate (U)": "1.20",
                "BWZ Target High BG (mg/dL)": "115.00",
                "BWZ Target Low BG (mg/dL)": "115.00",
                "BWZ Carb Ratio (g/U)": "10.00",
                "BWZ Insulin Sensitivity (mg/dL/U)": "60.00",
                "BWZ Carb Input (grams)": "0.00",
                "BWZ BG Input (mg/dL)": "187.00",
                "BWZ Correction Estimate (U)": "1.20",
                "BWZ Food Estimate (U)": "0.00",
                "BWZ Active Insulin (U)": "0.00",
            },
        )
    )
    rows.append(
        (
            t,
            0,
            {
                "Bolus Type": "Normal",
                "Bolus Volume Selected (U)": "1.20",
                "Bolus Volume Delivered (U)": "1.20",
            },
        )
    )
    n_ins += 1
    ev_t.append(t)
    t = datetime(2025, 11, 18, 19, 55, 2)
    rows.append(
        (
            t,
            0,
            {
                "Bolus Type": "Square",
                "Bolus Volume Selected (U)": "2.00",
                "Bolus Volume Delivered (U)": "2.00",
                "Bolus Duration (h:mm:ss)": "1:30:00",
            },
        )
    )
    n_ins += 1
    ev_t.append(t)
    # basal rates at the profile's switch points, meter readings sent to the pump
    d = start.replace(hour=0, minute=0, second=0)
    while d < CGM_END:
        for h, rate in ((0, "0.75"), (6, "0.95"), (11, "0.80"), (20, "0.85")):
            t = d + timedelta(hours=h)
            if start < t < CGM_END:
                rows.append((t, 2, {"Basal Rate (U/h)": rate}))
        t = d + timedelta(hours=7, minutes=int(rng.integers(0, 40)), seconds=int(rng.integers(60)))
        if start < t < CGM_END:
            bg = f"{person.at([t])[0] + rng.normal(0, 5):.2f}"
            rows.append((t, 3, {"BG Reading (mg/dL)": bg, "Linked BG Meter ID": "C7DE4B"}))
            rows.append((t, 4, {"Sensor Calibration BG (mg/dL)": bg}))
        d += timedelta(days=1)
    rows.sort(key=lambda r: (r[0], -r[1]), reverse=True)  # newest first
    device = "Paradigm Revel - 723"
    serial = personal["serial"]
    lines = [
        f"Last Name,First Name,Patient ID,Patient DOB,Start Date,End Date,Device,{device}",
        f'"{personal["last"]}","{personal["first"]}","","{personal["dob"]}",'
        f'"11/10/25 12:00:00 AM","11/20/25 11:59:59 PM","Serial Number",{serial}',
        "",
        "Device data shown may exceed selected date range.",
        "",
        f"-------,{device},Pump,{serial},------- ",
        _CARELINK_HEADER,
    ]
    for i, (t, _, cells) in enumerate(rows):
        f = [""] * len(cols)
        f[0], f[1], f[2] = f"{i:.5f}", t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S")
        for k, v in cells.items():
            f[col[k]] = v
        lines.append(",".join(f))
    lines += ["", f"-------,{device},Sensor,{serial},------- ", _CARELINK_HEADER]
    path = folder / f"CareLink-Export-{personal['last']}-{personal['dob']}.csv"
    _write(path, lines, "\r\n", bom=True)
    return CorpusFile(
        path,
        "cgm",
        "carelink",
        "Medtronic CareLink US (',' and '.' decimals), Paradigm Revel pump with sensor, UTF-8 "
        "BOM, CRLF; preamble with Last/First Name, Patient DOB and the serial; one Pump section "
        "(47-column header copied from the real US sample) holding Sensor Glucose + ISIG rows "
        "newest first (two sensors, warm-up gap), Bolus rows, BWZ rows with carbs, one BWZ "
        "correction without carbs, one Square bolus, Event Marker 'Meal: 20.00grams' snacks, two "
        "meals logged both as marker and through the wizard (one meal each), basal rates, meter "
        "BG/calibration rows; then an empty Sensor section (header only) as in the real sample",
        n_readings=len(times),
        n_meals=n_meals,
        n_insulin=n_ins,
        carbs_g=total_carbs,
        period=_period(times + ev_t),
        planted=("first", "last", "dob", "serial"),
    )


# --------------------------------------------------------------------------------------------
# Apple Health
# --------------------------------------------------------------------------------------------

_APPLE_DTD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutStatistics|WorkoutRoute)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type      CDATA #REQUIRED
  startDate CDATA #REQUIRED
  endDate   CDATA #REQUIRED
  sum       CDATA #IMPLIED
  unit      CDATA #IMPLIED
>
<!ELEMENT ActivitySummary EMPTY>
<!ATTLIST ActivitySummary
  dateComponents           CDATA #IMPLIED
  activeEnergyBurned       CDATA #IMPLIED
>
]>
"""

_MMOL_UNIT = "mmol&lt;180.1558800000541&gt;/L"


def _ad(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") + " +0100"


def _xml_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _apple(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 7])
    phone = f"{personal['first']}’s iPhone"  # iOS names devices with a typographic apostrophe
    watch = f"{personal['first']}’s Apple Watch"
    watch_dev = _xml_attr(
        "<<HKDevice: 0x2813a4f00>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, "
        "hardware:Watch6,2, software:11.1>"
    )
    start = datetime(2025, 11, 17, 16, 1, 33)
    end = CGM_END
    out = [
        _APPLE_DTD.rstrip("\n"),
        '<HealthData locale="en_GB">',
        f' <ExportDate value="{_ad(EXPORTED)}"/>',
        f' <Me HKCharacteristicTypeIdentifierDateOfBirth="{personal["dob"]}" '
        'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexMale"/>',
    ]
    recs: list[tuple[datetime, str]] = []
    # CGM records written by the Dexcom app (3 h later), in HealthKit's mmol unit
    cgm_t = _every(start, end, 300, rng, jitter_s=1.5)
    cgm_v = _sample(person, cgm_t, rng, sd=4.0)
    for t, v in zip(cgm_t, cgm_v, strict=True):
        recs.append(
            (
                t,
                f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="Dexcom G7" '
                f'sourceVersion="2.5.1" unit="{_MMOL_UNIT}" creationDate="{_ad(t + timedelta(hours=3))}" '
                f'startDate="{_ad(t)}" endDate="{_ad(t)}" value="{v / MGDL_PER_MMOL:.4g}"/>',
            )
        )
    # finger-stick readings typed in on the phone, mg/dL, over two weeks
    fs_t = []
    for d in range(6, 20):
        for h, m in ((7, 5), (21, 40)):
            t = datetime(2025, 11, d, h, m) + timedelta(minutes=int(rng.integers(0, 20)))
            fs_t.append(t)
    for t in fs_t:
        v = int(person.at([t])[0] + rng.normal(0, 6))
        recs.append(
            (
                t,
                f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="{phone}" '
                f'sourceVersion="26.1" unit="mg/dL" creationDate="{_ad(t + timedelta(minutes=1))}" '
                f'startDate="{_ad(t)}" endDate="{_ad(t)}" value="{v}">\n'
                '  <MetadataEntry key="HKWasUserEntered" value="1"/>\n'
                '  <MetadataEntry key="HKBloodGlucoseMealTime" value="1"/>\n'
                " </Record>",
            )
        )
    # carbohydrates (MyFitnessPal writes one record per food; same startDate = one meal)
    ev_t, n_meals, carbs = [], 0, 0.0
    for m in person.meals:
        if not _in(m.time, datetime(2025, 11, 10), end):
            continue
        n_meals += 1
        ev_t.append(m.time)
        items = m.items if m.slot == "dinner" else ((m.slot, "", m.carbs, m.kcal, ""),)
        for it in (i for i in items if i[2] > 0):  # MyFitnessPal writes no zero-carb record
            carbs += float(f"{it[2]:g}")
            recs.append(
                (
                    m.time,
                    ' <Record type="HKQuantityTypeIdentifierDietaryCarbohydrates" '
                    f'sourceName="MyFitnessPal" sourceVersion="25.21.0" unit="g" '
                    f'creationDate="{_ad(m.time + timedelta(minutes=4))}" startDate="{_ad(m.time)}" '
                    f'endDate="{_ad(m.time)}" value="{it[2]:g}">\n'
                    f'  <MetadataEntry key="meal" value="{m.slot.title()}"/>\n'
                    " </Record>",
                )
            )
    # insulin typed in on the phone: bolus (2) before main meals, basal (1) at night
    n_ins = 0
    for m in person.meals:
        if m.slot == "snack" or not _in(m.time, datetime(2025, 11, 14), end):
            continue
        t = m.time - timedelta(minutes=5)
        recs.append(
            (
                t,
                ' <Record type="HKQuantityTypeIdentifierInsulinDelivery" '
                f'sourceName="{phone}" sourceVersion="26.1" unit="IU" '
                f'creationDate="{_ad(t)}" startDate="{_ad(t)}" endDate="{_ad(t)}" '
                f'value="{m.carbs / 10:.1f}">\n'
                '  <MetadataEntry key="HKInsulinDeliveryReason" value="2"/>\n'
                '  <MetadataEntry key="HKWasUserEntered" value="1"/>\n'
                " </Record>",
            )
        )
        n_ins += 1
        ev_t.append(t)
    for d in range(14, 20):
        t = datetime(2025, 11, d, 22, 5)
        recs.append(
            (
                t,
                ' <Record type="HKQuantityTypeIdentifierInsulinDelivery" '
                f'sourceName="{phone}" sourceVersion="26.1" unit="IU" '
                f'creationDate="{_ad(t)}" startDate="{_ad(t)}" endDate="{_ad(t)}" value="18">\n'
                '  <MetadataEntry key="HKInsulinDeliveryReason" value="1"/>\n'
                " </Record>",
            )
        )
        n_ins += 1
        ev_t.append(t)
    # other record types (dropped as "other record type")
    for k in range(40):
        t = start + timedelta(minutes=47 * k + 3)
        if t > end:
            break
        hr = int(70 + rng.normal(0, 6))
        recs.append(
            (
                t,
                f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{watch}" '
                f'sourceVersion="11.1" device="{watch_dev}" unit="count/min" '
                f'creationDate="{_ad(t + timedelta(seconds=7))}" startDate="{_ad(t)}" '
                f'endDate="{_ad(t)}" value="{hr}">\n'
                '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>\n'
                " </Record>",
            )
        )
    # workouts: walks, SPU bouts (an "Other" workout named in its metadata), a plain "Other"
    n_ex = n_spu = spu_min = 0

    def workout(t: datetime, minutes: int, atype: str, meta: list[tuple[str, str]]) -> str:
        e = t + timedelta(minutes=minutes)
        kids = "".join(f'\n  <MetadataEntry key="{k}" value="{_xml_attr(v)}"/>' for k, v in meta)
        kcal = minutes * (4.1 if atype == "Walking" else 1.3)
        return (
            f' <Workout workoutActivityType="HKWorkoutActivityType{atype}" duration="{minutes}" '
            f'durationUnit="min" sourceName="{watch}" creationDate="{_ad(e)}" '
            f'startDate="{_ad(t)}" endDate="{_ad(e)}">{kids}\n'
            '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" '
            f'startDate="{_ad(t)}" endDate="{_ad(e)}" sum="{kcal:.1f}" unit="Cal"/>\n'
            " </Workout>"
        )

    for w in person.walks:
        if _in(w.time, datetime(2025, 11, 10), end):
            recs.append((w.time, workout(w.time, w.minutes, "Walking", [("HKIndoorWorkout", "0")])))
            n_ex += 1
            ev_t.append(w.time)
    k = 0
    for m in person.meals:
        if m.spu_start is None or not _in(m.spu_start, datetime(2025, 11, 10), end):
            continue
        meta = (
            [("HKIndoorWorkout", "1"), ("HKWorkoutBrandName", "Soleus pushups")]
            if k % 2 == 0
            else [("HKMetadataKeyWorkoutName", "SPU")]
        )
        recs.append((m.spu_start, workout(m.spu_start, m.spu_min, "Other", meta)))
        n_spu += 1
        spu_min += m.spu_min
        ev_t.append(m.spu_start)
        k += 1
    t = datetime(2025, 11, 15, 10, 30)
    recs.append((t, workout(t, 50, "Other", [("HKIndoorWorkout", "1")])))  # gardening, say
    n_ex += 1
    ev_t.append(t)
    recs.sort(key=lambda r: r[0])
    out += [r for _, r in recs]
    out.append(' <ActivitySummary dateComponents="2025-11-19" activeEnergyBurned="412.3"/>')
    out.append("</HealthData>")
    path = folder / f"export_{personal['first']}.xml"
    _write(path, out, "\n")
    return CorpusFile(
        path,
        "cgm",
        "apple_health",
        "Apple Health export.xml with the real internal DTD (HealthKit Export Version 14); Me "
        "with the date of birth; Dexcom G7 BloodGlucose records in mmol<180.1558800000541>/L "
        "(3 days, 5 min) and finger-stick records in mg/dL from '<first>’s iPhone' (2 a day, "
        "14 days); DietaryCarbohydrates (dinners as one record per food at one startDate = one "
        "meal), InsulinDelivery (bolus/basal), HeartRate (other type), Walking workouts, "
        "'Other' workouts marked SPU by HKWorkoutBrandName 'Soleus pushups' or "
        "HKMetadataKeyWorkoutName 'SPU', one plain 'Other' workout; offsets +0100",
        n_readings=len(cgm_t) + len(fs_t),
        n_meals=n_meals,
        n_insulin=n_ins,
        n_exercise=n_ex,
        n_spu=n_spu,
        carbs_g=carbs,
        spu_minutes=spu_min,
        period=_period(cgm_t + fs_t + ev_t),
        planted=("first", "dob"),
    )


# --------------------------------------------------------------------------------------------
# Nightscout
# --------------------------------------------------------------------------------------------


def _utc(t: datetime) -> datetime:
    return (t - timedelta(minutes=UTC_OFFSET_MIN)).replace(tzinfo=UTC)


def _ms(t: datetime) -> int:
    return int(round(_utc(t).timestamp() * 1000))


def _iso_z(t: datetime) -> str:
    u = _utc(t)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def _oid(rng) -> str:
    return "".join(f"{int(b):02x}" for b in rng.integers(0, 256, 12))


_DIRECTIONS = [
    (-3.0, "DoubleDown"),
    (-2.0, "SingleDown"),
    (-1.0, "FortyFiveDown"),
    (1.0, "Flat"),
    (2.0, "FortyFiveUp"),
    (3.0, "SingleUp"),
    (1e9, "DoubleUp"),
]


def _direction(rate: float) -> str:
    return next(name for lim, name in _DIRECTIONS if rate < lim)


NS_START = datetime(2025, 11, 16, 18, 2, 51)


def _nightscout_entries(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 8])
    times = _every(NS_START, CGM_END, 300, rng, jitter_s=1.0)
    vals = _sample(person, times, rng, sd=4.0)
    device = f"xDrip-DexcomG6 {personal['serial']}"
    entries = []
    for i, (t, v) in enumerate(zip(times, vals, strict=True)):
        delta = float(v - vals[i - 1]) if i else 0.0
        e = {
            "_id": _oid(rng),
            "device": device,
            "date": _ms(t),
            "dateString": _iso_z(t),
            "sgv": int(v),
            "delta": round(delta + float(rng.normal(0, 0.2)), 3),
            "direction": _direction(delta / 5.0),
            "type": "sgv",
            "sysTime": _iso_z(t),
            "utcOffset": UTC_OFFSET_MIN,
        }
        if i % 97 == 13:
            del e["direction"]  # missing direction is common
        entries.append(e)
    # uploader retries: the same reading again under another _id
    dups = [dict(entries[k], _id=_oid(rng)) for k in (50, 51, 300, 777)]
    # a meter reading
    tm = datetime(2025, 11, 18, 7, 12, 5)
    mbg = {
        "_id": _oid(rng),
        "device": device,
        "date": _ms(tm),
        "dateString": _iso_z(tm),
        "mbg": int(person.at([tm])[0]),
        "type": "mbg",
        "sysTime": _iso_z(tm),
        "utcOffset": UTC_OFFSET_MIN,
    }
    allrows = entries + dups + [mbg]
    allrows.sort(key=lambda e: e["date"], reverse=True)  # the API returns newest first
    path = folder / f"{personal['first']}_nightscout_entries.json"
    path.write_text(
        json.dumps(allrows, separators=(",", ":"), ensure_ascii=False), encoding="utf-8"
    )
    return CorpusFile(
        path,
        "cgm",
        "nightscout_entries_json",
        "Nightscout /api/v1/entries.json, compact array newest first, xDrip+ uploader (device "
        "field carries the transmitter serial), date in UTC epoch ms, dateString/sysTime with Z, "
        "utcOffset 60; about 4 days; 4 duplicate entries (same date and sgv, other _id), some "
        "without direction, one mbg meter entry (not a reading)",
        n_readings=len(entries),
        period=_period(times),
        planted=("serial",),
    )


def _nightscout_treatments(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 9])
    who = personal["first"]
    tr, ev_t = [], []
    n_meals = n_ins = n_ex = n_spu = carbs = spu_min = 0
    doubled = False

    def add(t: datetime, event: bool = True, **fields) -> None:
        d = {"_id": _oid(rng), "created_at": _iso_z(t), "utcOffset": UTC_OFFSET_MIN}
        d.update(fields)
        tr.append(d)
        if event:
            ev_t.append(t)

    meals = [m for m in person.meals if NS_START < m.time < CGM_END]
    for i, m in enumerate(meals):
        carbs += int(round(m.carbs))
        if m.slot == "snack":
            add(
                m.time,
                eventType="Carb Correction",
                carbs=int(round(m.carbs)),
                insulin=None,
                enteredBy=who,
            )
            n_meals += 1
        else:
            add(
                m.time,
                eventType="Meal Bolus",
                carbs=int(round(m.carbs)),
                insulin=round(m.carbs / 10, 1),
                enteredBy=who,
                notes="",
            )
            n_meals += 1
            n_ins += 1
            if not doubled:  # a careportal double submit: the same treatment twice (one meal)
                tr.append(dict(tr[-1], _id=_oid(rng)))
                doubled = True
        if m.spu_start is not None:
            if i % 2:
                add(
                    m.spu_start,
                    eventType="Exercise",
                    duration=m.spu_min,
                    notes="SPU",
                    enteredBy=who,
                )
            else:
                add(m.spu_start, eventType="Note", notes=f"SPU {m.spu_min}", enteredBy=who)
            n_spu += 1
            spu_min += m.spu_min
    for w in person.walks:
        if NS_START < w.time < CGM_END:
            add(w.time, eventType="Exercise", duration=w.minutes, notes="walk", enteredBy=who)
            n_ex += 1
    t = datetime(2025, 11, 17, 23, 10)
    add(t, eventType="Correction Bolus", insulin=1.5, carbs=None, enteredBy=who)
    n_ins += 1
    t = datetime(2025, 11, 18, 9, 0)
    add(t, False, eventType="Site Change", notes="", enteredBy=who)
    t = datetime(2025, 11, 19, 3, 0)
    add(
        t,
        False,
        eventType="Temp Basal",
        duration=30,
        absolute=0.4,
        rate=0.4,
        enteredBy="openaps://phone",
    )
    tr.sort(key=lambda d: d["created_at"], reverse=True)
    path = folder / f"{personal['first']}_nightscout_treatments.json"
    path.write_text(json.dumps(tr, indent=1, ensure_ascii=False), encoding="utf-8")
    return CorpusFile(
        path,
        "log",
        "nightscout_treatments_json",
        "Nightscout /api/v1/treatments.json (created_at UTC with Z, utcOffset 60, enteredBy = the "
        "first name): Meal Bolus with carbs and insulin (one submitted twice: counted once), Carb "
        "Correction snacks, Correction Bolus, Exercise walks with duration, SPU as Exercise "
        "'SPU' with duration or Note 'SPU 20', Site Change and Temp Basal (neither is an event)",
        n_meals=n_meals,
        n_insulin=n_ins,
        n_exercise=n_ex,
        n_spu=n_spu,
        carbs_g=carbs,
        spu_minutes=spu_min,
        period=_period(ev_t),
        planted=("first",),
    )


# --------------------------------------------------------------------------------------------
# Generic research CSV, three people
# --------------------------------------------------------------------------------------------


def _generic(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 10])
    lines = ['"id","time","gl"']
    all_t, n = [], 0
    for k in range(3):
        start = datetime(2025, 11, 10, 7 + 3 * k, 11 * k + 2, 27)
        end = start + timedelta(days=7) - timedelta(minutes=5)
        times = _every(start, end, 300, rng)
        shift = timedelta(days=2 * k, hours=5 * k)
        v = person.at([t - shift for t in times]) * (1 + 0.08 * k) - 6 * k
        v = np.clip(np.round(v + rng.normal(0, 4, len(times))), 40, 400).astype(int)
        for t, g in zip(times, v, strict=True):
            lines.append(f'"Subject {k + 1}","{t:%Y-%m-%d %H:%M:%S}",{g}')
        all_t += times
        n += len(times)
    path = folder / f"{personal['last']} family – 3 people.csv"
    _write(path, lines, "\n")
    return CorpusFile(
        path,
        "cgm",
        "generic",
        "Research-style CSV 'id,time,gl' (quoted like iglu's example data), 3 subjects x 7 days "
        "of 5-min readings, staggered starts; glucose column without units (gl = mg/dL)",
        n_readings=n,
        period=_period(all_t),
        subjects=3,
    )


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


def _activity_log(
    path: Path, meals: tuple[_Meal, ...], walks: tuple[_Walk, ...], description: str
) -> CorpusFile:
    lines = [
        "# My soleus pushup log. Times are local clock time.",
        "# kind: spu, walk, breakfast, lunch, dinner, snack, note",
        "",
        "start,end,duration_min,kind,intensity,carbs_g,notes",
    ]
    rows: list[tuple[datetime, str]] = []
    n_meals = n_spu = n_ex = 0
    ev_t = []
    for i, m in enumerate(meals):
        kind = m.slot if i % 4 else "meal"
        label = " and ".join(it[0].split(",")[0].lower() for it in m.items[:2])
        when = m.time.strftime("%Y-%m-%d %H:%M") if i % 5 else m.time.strftime("%Y-%m-%dT%H:%M:%S")
        rows.append((m.time, f"{when},,,{kind},,{m.carbs:g},{label}"))
        n_meals += 1
        ev_t.append(m.time)
        if m.spu_start is None:
            continue
        s, e = m.spu_start, m.spu_start + timedelta(minutes=m.spu_min)
        variant = i % 5
        if variant == 0:  # bare end time
            rows.append((s, f"{s:%Y-%m-%d %H:%M},{e:%H:%M},,spu,low,,at my desk"))
        elif variant == 1:
            rows.append((s, f"{s:%Y-%m-%d %H:%M},,{m.spu_min},SPU,,,"))
        elif variant == 2:
            rows.append((s, f"{s:%Y-%m-%d %H:%M},{e:%Y-%m-%d %H:%M},,soleus pushups,moderate,,"))
        elif variant == 3:
            rows.append((s, f"{s:%Y-%m-%d %H:%M},,{m.spu_min},Soleus push-ups,,,while reading"))
        else:  # a note whose text names SPU and its minutes
            rows.append((s, f"{s:%Y-%m-%d %H:%M},,,note,,,SPU {m.spu_min}"))
        n_spu += 1
        ev_t.append(s)
    for w in walks:
        e = w.time + timedelta(minutes=w.minutes)
        if w.minutes % 2:
            rows.append((w.time, f"{w.time:%Y-%m-%d %H:%M},{e:%H:%M},,walk,brisk,,"))
        else:
            rows.append((w.time, f"{w.time:%Y-%m-%d %H:%M},,{w.minutes},walk,,,around the park"))
        n_ex += 1
        ev_t.append(w.time)
    t = meals[len(meals) // 2].time + timedelta(hours=2)
    rows.append((t, f"{t:%Y-%m-%d %H:%M},,,note,,,slept badly; headache"))
    ev_t.append(t)
    rows.sort(key=lambda r: r[0])
    lines += [r for _, r in rows]
    _write(path, lines, "\n")
    return CorpusFile(
        path,
        "log",
        "activity_log",
        description,
        n_meals=n_meals,
        n_exercise=n_ex,
        n_spu=n_spu,
        carbs_g=sum(m.carbs for m in meals),
        spu_minutes=sum(m.spu_min for m in meals if m.spu_start is not None),
        period=_period(ev_t),
    )


_CRONO_HEADER = (
    "Day,Time,Group,Food Name,Amount,Energy (kcal),Alcohol (g),Caffeine (mg),Water (g),Carbs (g),"
    "Fiber (g),Starch (g),Sugars (g),Net Carbs (g),Fat (g),Protein (g),Category"
)
_CRONO_GROUP = {"breakfast": "Breakfast", "lunch": "Lunch", "dinner": "Dinner", "snack": "Snack 2"}


def _csv_cell(s: str) -> str:
    return f'"{s}"' if "," in s or '"' in s else s


def _cronometer(path: Path, meals: tuple[_Meal, ...], description: str) -> CorpusFile:
    lines = [_CRONO_HEADER]
    ev_t = []
    for i, m in enumerate(meals):
        for j, (name, amount, carbs, kcal, cat) in enumerate(m.items):
            t = m.time + timedelta(minutes=2 * j)
            clock = "" if (i % 11 == 5 and j > 0) else _h12(t, zero_pad=False)  # time left out
            fiber = round(carbs * 0.1, 2)
            lines.append(
                f"{t:%Y-%m-%d},{clock},{_CRONO_GROUP[m.slot]},{_csv_cell(name)},{amount},"
                f"{kcal:.1f},0.00,0.00,{kcal * 0.3:.2f},{carbs:.2f},{fiber:.2f},{carbs * 0.6:.2f},"
                f"{carbs * 0.2:.2f},{carbs - fiber:.2f},{kcal * 0.03:.2f},{kcal * 0.04:.2f},"
                f"{_csv_cell(cat)}"
            )
        ev_t.append(m.time)
    _write(path, lines, "\n")
    return CorpusFile(
        path,
        "log",
        "cronometer",
        description,
        n_meals=len(meals),
        carbs_g=sum(float(f"{it[2]:.2f}") for m in meals for it in m.items),
        period=_period(ev_t),
    )


_MFP_HEADER = (
    "Date,Meal,Time,Calories,Fat (g),Saturated Fat,Polyunsaturated Fat,Monounsaturated Fat,"
    "Trans Fat,Cholesterol,Sodium (mg),Potassium,Carbohydrates (g),Fiber,Sugar,Protein (g),"
    "Vitamin A,Vitamin C,Calcium,Iron,Note"
)
_MFP_MEAL = {"breakfast": "Breakfast", "lunch": "Lunch", "dinner": "Dinner", "snack": "Snacks"}


def _myfitnesspal(folder: Path, person: _Person, personal: dict, seed: int) -> CorpusFile:
    rng = np.random.default_rng([seed, 12])
    lines = [_MFP_HEADER]
    ev_t, n, total = [], 0, 0.0
    for i, m in enumerate(person.meals):
        if not _in(m.time, datetime(2025, 11, 8), datetime(2025, 11, 19, 23, 59)):
            continue
        clock = "" if i % 13 == 7 else _h12(m.time, zero_pad=False)
        parts = [(m.carbs, m.kcal)]
        if m.slot == "lunch" and i % 3 == 0:  # the meal entered as two rows: summed into one
            parts = [(round(m.carbs * 0.7, 1), round(m.kcal * 0.7, 1))]
            parts.append((round(m.carbs - parts[0][0], 1), round(m.kcal - parts[0][1], 1)))
        for carbs, kcal in parts:
            total += float(f"{carbs:.1f}")
            fat = kcal * 0.035
            lines.append(
                f"{m.time:%Y-%m-%d},{_MFP_MEAL[m.slot]},{clock},{kcal:.1f},{fat:.1f},"
                f"{fat / 3:.1f},1.0,2.0,0.0,20.0,{300 + rng.integers(0, 400)}.0,400.0,"
                f"{carbs:.1f},{carbs * 0.1:.1f},{carbs * 0.2:.1f},{kcal * 0.04:.1f},"
                "5.0,10.0,15.0,8.0,"
            )
        n += 1
        ev_t.append(m.time)
    path = folder / f"Nutrition-Summary-2025-11-08-to-2025-11-19 {personal['first']}.csv"
    _write(path, lines, "\n")
    return CorpusFile(
        path,
        "log",
        "myfitnesspal",
        "MyFitnessPal nutrition summary in the CGM period: one row per date and meal "
        "(Breakfast/Lunch/Dinner/Snacks) with 12-hour Time, a few rows without Time, some "
        "lunches split in two rows of the same meal (one meal)",
        n_meals=n,
        carbs_g=total,
        period=_period(ev_t),
    )


def _cronometer_exercises(folder: Path, person: _Person, personal: dict) -> CorpusFile:
    lines = ["Day,Time,Exercise,Minutes,Calories Burned,Group"]
    ev_t, n_ex, n_spu, spu_min = [], 0, 0, 0
    rows = []
    for w in person.walks:
        rows.append((w.time, '"Walking, 3.0 mph, moderate pace"', w.minutes, w.minutes * 4.0))
        n_ex += 1
    for m in person.meals:
        if m.spu_start is not None and m.slot == "dinner":
            rows.append((m.spu_start, "Soleus pushups (seated)", m.spu_min, m.spu_min * 0.5))
            n_spu += 1
            spu_min += m.spu_min
    for t, name, mins, kcal in sorted(rows):
        lines.append(
            f"{t:%Y-%m-%d},{_h12(t, zero_pad=False)},{name},{mins:.2f},{kcal:.2f},Uncategorized"
        )
        ev_t.append(t)
    path = folder / f"exercises_{personal['first']}.csv"
    _write(path, lines, "\n")
    return CorpusFile(
        path,
        "log",
        "cronometer_exercises",
        "Cronometer exercises export in the CGM period: walks and 'Soleus pushups (seated)' "
        "after dinners, Minutes",
        n_exercise=n_ex,
        n_spu=n_spu,
        spu_minutes=spu_min,
        period=_period(ev_t),
    )


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------


def write_corpus(folder: Path, seed: int = 0, personal=PERSONAL) -> list[CorpusFile]:
    """Write every corpus file into ``folder`` (created if needed) and describe each.

    Parameters
    ----------
    folder : Path
        Where to write (existing files of the same names are overwritten).
    seed : int
        Everything (glucose, meals, SPU bouts, jitter, ids) follows from it.
    personal : dict
        ``first``, ``last``, ``dob`` (``YYYY-MM-DD``) and ``serial`` to plant in file names and
        contents; the default :data:`PERSONAL` strings appear nowhere else.

    Returns
    -------
    list of CorpusFile
        One per file, in the order of :data:`FILE_KEYS`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    person = _person(seed)
    files = [
        _dexcom_g6(folder, person, personal, seed),
        _dexcom_g7(folder, person, personal, seed),
        _dexcom_insulin_only(folder, person, personal, seed),
        _libreview(folder, person, personal, seed, german=False),
        _libreview(folder, person, personal, seed, german=True),
        _carelink(folder, person, personal, seed),
        _apple(folder, person, personal, seed),
        _nightscout_entries(folder, person, personal, seed),
        _nightscout_treatments(folder, person, personal, seed),
        _generic(folder, person, personal, seed),
    ]
    first = personal["first"]
    files.append(
        _activity_log(
            folder / f"{first} SPU log #1.csv",
            person.meals,
            person.walks,
            "The project's activity log in the CGM period: every meal (kind breakfast/lunch/"
            "dinner/snack/meal, carbs_g), every SPU bout (kinds spu/SPU/soleus pushups/Soleus "
            "push-ups with bare end time, full end or duration_min, or a note 'SPU 30'), walks, "
            "one plain note; comment and blank lines at the top",
        )
    )
    rng_o = np.random.default_rng([seed, 13])
    o_meals, o_walks = _schedule(rng_o, CGM_START + OTHER_SHIFT, 14, CGM_END + OTHER_SHIFT)
    files.append(
        _activity_log(
            folder / f"{first} SPU log 2026.csv",
            o_meals,
            o_walks,
            "The project's activity log a year after the CGM period (2026-11): meals, SPU bouts "
            "and walks that no CGM file covers",
        )
    )
    files.append(
        _cronometer(
            folder / f"servings_{first}_{personal['last']}.csv",
            person.meals,
            "Cronometer servings export in the CGM period: 1-3 food items per meal 2 min apart "
            "(grouped into one meal), 12-hour times without leading zero, a few items without "
            "a time inside a timed meal, groups Breakfast/Lunch/Dinner/Snack 2",
        )
    )
    files.append(
        _cronometer(
            folder / f"cronometer_servings_2026_{first}.csv",
            o_meals,
            "Cronometer servings export a year after the CGM period (2026-11)",
        )
    )
    files.append(_myfitnesspal(folder, person, personal, seed))
    files.append(_cronometer_exercises(folder, person, personal))
    return [replace(f, key=k) for f, k in zip(files, FILE_KEYS, strict=True)]
