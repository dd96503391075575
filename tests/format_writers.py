"""Writers of the export formats added in issue 12, from their documented header sets.

Each writer takes readings (local wall-clock ``time``, ``glucose_mgdl``) and events (``time``,
``kind`` ``meal``/``insulin``, ``carbs_g``, ``insulin_u``) and writes a file the way the device
or app does (header set, quoting, ordering, units, time notation: see ``docs/formats.md`` and
the source named in each docstring). They know nothing of the readers: tests write with them
and read back (hypothesis round trips), and :func:`write_fixtures` makes the committed fixtures
under ``tests/fixtures`` (``python -m tests.format_writers`` rewrites them).

All times are local; ``offset_min`` (minutes east of UTC) gives the instant where a format
stores one. Everything is deterministic: no clock, no randomness without a seed.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

MGDL_PER_MMOL = 18.0156
#: A fixed time for zip entries, so the same content gives the same bytes.
ZIP_TIME = (2026, 5, 14, 19, 30, 4)

LINGO_HEADER = (
    "Time of Glucose Reading [T=(local time) +/- (time zone offset)], Measurement({units})"
)
XDRIP_HEADER = "DAY;TIME;UDT_CGMS;BG_LEVEL;CH_GR;BOLUS;REMARK"
TANDEM_READINGS = ["DeviceType", "SerialNumber", "Description", "EventDateTime"]
#: Tandem Source bolus section, 20 columns (asht0nmb/t1d-optimizer DATA_CATALOG.md §2.3).
TANDEM_SOURCE_BOLUS = [
    "Type", "BolusType", "BolusDeliveryMethod", "BG (mg/dL)", "SerialNumber",
    "CompletionDateTime", "InsulinDelivered", "FoodDelivered", "CorrectionDelivered",
    "CompletionStatusDesc", "BolexStartDateTime", "BolexCompletionDateTime",
    "BolexInsulinDelivered", "BolexCompletionStatusDesc", "StandardPercent", "Duration (mins)",
    "CarbSize", "TargetBG (mg/dL)", "CorrectionFactor", "CarbRatio",
]  # fmt: skip
#: t:connect Therapy Timeline bolus section, 41 names (jwoglom/tconnectsync tests/api/test_ws2.py).
TCONNECT_BOLUS = [
    "Type", "Description", "BG", "IOB", "BolusRequestID", "BolusCompletionID",
    "CompletionDateTime", "InsulinDelivered", "FoodDelivered", "CorrectionDelivered",
    "CompletionStatusID", "CompletionStatusDesc", "BolusIsComplete", "BolexCompletionID",
    "BolexSize", "BolexStartDateTime", "BolexCompletionDateTime", "BolexInsulinDelivered",
    "BolexIOB", "BolexCompletionStatusID", "BolexCompletionStatusDesc",
    "ExtendedBolusIsComplete", "EventDateTime", "RequestDateTime", "BolusType",
    "BolusRequestOptions", "StandardPercent", "Duration", "CarbSize", "UserOverride", "TargetBG",
    "CorrectionFactor", "FoodBolusSize", "CorrectionBolusSize", "ActualTotalBolusRequested",
    "IsQuickBolus", "EventHistoryReportEventDesc", "EventHistoryReportDetails", "NoteID",
    "IndexID", "Note",
]  # fmt: skip
TCONNECT_PREAMBLE = [
    "Tandem Diabetes Care Inc.",
    "t:connect Therapy Timeline Data Export",
    "Patient Name, Zebediah Quuxworth",
    "Patient DOB, 4/13/1971",
    "Report Generated On, 5/14/2026 7:50:04 PM",
]
GLOOKO_CGM = {"en": "Timestamp,CGM Glucose Value ({u}),Serial Number",
              "de": "Zeitstempel,CGM-Glukosewert ({u}),Seriennummer"}  # fmt: skip
GLOOKO_BOLUS = {
    "en": "Timestamp,Insulin Type,Blood Glucose Input (mg/dl),Carbs Input (g),Carbs Ratio,"
    "Insulin Delivered (U),Initial Delivery (U),Extended Delivery (U),Serial Number",
    "de": "Zeitstempel,Insulin-Typ,Blutzuckereingabe (mg/dl),Kohlenhydrataufnahme (g),"
    "Kohlenhydratverhältnis,Abgegebenes Insulin (E),Anfängliche Abgabe (E),"
    "Verzögerte Abgabe (E),Seriennummer",
}


def _meals(events: pd.DataFrame) -> pd.DataFrame:
    return events[events["kind"] == "meal"] if len(events) else events


def _doses(events: pd.DataFrame) -> pd.DataFrame:
    return events[events["kind"] == "insulin"] if len(events) else events


def _offset_text(minutes: float, colon: bool = True) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(int(abs(minutes)), 60)
    return f"{sign}{h:02d}{':' if colon else ''}{m:02d}"


def _zip(path: Path, members: Sequence[tuple[str, bytes]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_DEFLATED)


# ---------------------------------------------------------------------------------- Lingo
def lingo_text(readings: pd.DataFrame, offset_min, units: str = "mmol/L") -> str:
    """Abbott Lingo CSV: newest first, ``YYYY-MM-DDThh:mm+hh:mm``, one decimal in mmol/L."""
    off = np.broadcast_to(np.asarray(offset_min, dtype=float), (len(readings),))
    lines = [LINGO_HEADER.format(units=units)]
    order = np.argsort(-readings["time"].to_numpy(dtype="datetime64[ns]").view("i8"), kind="stable")
    for i in order:
        t = readings["time"].iloc[i]
        g = readings["glucose_mgdl"].iloc[i]
        v = f"{g / MGDL_PER_MMOL:.1f}" if units == "mmol/L" else f"{round(g):d}"
        lines.append(f"{t:%Y-%m-%dT%H:%M}{_offset_text(off[i])},{v}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- xDrip+
def xdrip_text(readings: pd.DataFrame, events: pd.DataFrame, calibrations=()) -> str:
    """xDrip+ SiDiary CSV as ``DatabaseUtil.saveCSV`` writes it: readings, calibrations, then
    treatments, each oldest first (NightscoutFoundation/xDrip)."""
    out = [XDRIP_HEADER]
    for t, g in zip(readings["time"], readings["glucose_mgdl"], strict=True):
        out.append(f"{t:%d.%m.%Y;%H:%M;}{round(g)};;;;")
    for t, bg in calibrations:
        out.append(f"{t:%d.%m.%Y;%H:%M;};{round(bg)};;;")
    for _, e in events.sort_values("time").iterrows() if len(events) else []:
        carbs = f"{e['carbs_g']:g}" if e["kind"] == "meal" else ""
        ins = f"{e['insulin_u']:g}" if e["kind"] == "insulin" else ""
        note = e.get("label") if e["kind"] == "note" else ""
        out.append(f"{e['time']:%d.%m.%Y;%H:%M;};;{carbs};{ins};{note or ''}")
    return "\r\n".join(out) + "\r\n"


def write_xdrip(path: Path, text: str, zipped: bool) -> Path:
    """The SiDiary text as ``export<date>.csv``, or inside ``exportCSV<date>.zip``."""
    if zipped:
        _zip(path, [("export20260514-193004.csv", text.encode())])
    else:
        path.write_bytes(text.encode())
    return path


# ---------------------------------------------------------------------------------- Glooko
def glooko_cgm_text(readings: pd.DataFrame, lang: str = "en", units: str = "mg/dl") -> str:
    """Glooko ``cgm_data_1.csv``: title line, header, newest first (``2023-08-02 15:40,159.0``;
    German exports ``17.08.2026 10:00,"100,0"``)."""
    buf = io.StringIO()
    title = (
        "Name:Zebediah Quuxworth,Date Range:"
        if lang == "en"
        else "Name:Zebediah Quuxworth,Datumsbereich:"
    )
    t = readings["time"]
    if len(t):
        title += f"{t.min():%Y-%m-%d} - {t.max():%Y-%m-%d}"
    buf.write(title + "\n" + GLOOKO_CGM[lang].format(u=units) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    for i in np.argsort(-t.to_numpy(dtype="datetime64[ns]").view("i8"), kind="stable"):
        g = readings["glucose_mgdl"].iloc[i]
        v = g / MGDL_PER_MMOL if units == "mmol/l" else g
        val = f"{v:.1f}"
        stamp = f"{t.iloc[i]:%Y-%m-%d %H:%M}"
        if lang == "de":
            val, stamp = val.replace(".", ","), f"{t.iloc[i]:%d.%m.%Y %H:%M}"
        w.writerow([stamp, val, "QX9Z7Y6W5V"])
    return buf.getvalue()


def glooko_bolus_text(events: pd.DataFrame, lang: str = "en") -> str:
    """Glooko ``bolus_data_1.csv`` (one row per bolus: carbs input and insulin delivered)."""
    buf = io.StringIO()
    buf.write(
        "Name:Zebediah Quuxworth,Date Range:2026-05-13 - 2026-05-14\n" + GLOOKO_BOLUS[lang] + "\n"
    )
    w = csv.writer(buf, lineterminator="\n")
    ev = events.sort_values("time", ascending=False) if len(events) else events
    for _, e in ev.iterrows() if len(ev) else []:
        carbs = e["carbs_g"] if e["kind"] == "meal" else 0.0
        ins = e["insulin_u"] if e["kind"] == "insulin" else 0.0
        cells = [
            f"{e['time']:%Y-%m-%d %H:%M}",
            "Normal",
            "",
            f"{carbs:.1f}",
            "10.0",
            f"{ins:.2f}",
            f"{ins:.2f}",
            "0.0",
            "QX9Z7Y6W5V",
        ]
        if lang == "de":
            cells = [c.replace(".", ",") for c in cells]
            cells[0] = f"{e['time']:%d.%m.%Y %H:%M}"
        w.writerow(cells)
    return buf.getvalue()


def write_glooko_zip(path: Path, members: dict[str, str], bom: bool = True) -> Path:
    """A Glooko export zip of the given ``name -> text`` CSVs (UTF-8 with BOM)."""
    pre = b"\xef\xbb\xbf" if bom else b""
    _zip(path, [(n, pre + t.encode()) for n, t in members.items()])
    return path


# ---------------------------------------------------------------------------------- Tandem
def tandem_text(
    readings: pd.DataFrame,
    events: pd.DataFrame,
    layout: str = "source",
    bg: Sequence[tuple[datetime, int]] = (),
) -> str:
    """Tandem Source (``layout="source"``) or t:connect (``"tconnect"``) CSV export."""
    buf = io.StringIO()
    quote = csv.QUOTE_ALL if layout == "tconnect" else csv.QUOTE_MINIMAL
    w = csv.writer(buf, lineterminator="\n", quoting=quote)
    buf.write("\n".join(TCONNECT_PREAMBLE) + "\n\n")
    value = "Readings (CGM / BGM)" if layout == "tconnect" else "Readings (mg/dL)"
    buf.write(",".join(TANDEM_READINGS + [value]) + "\n")
    dev = "t:slim X2 Insulin Pump"
    for t, g in zip(readings["time"], readings["glucose_mgdl"], strict=True):
        row = [dev, "90693745", "EGV", f"{t:%Y-%m-%dT%H:%M:%S}", f"{round(g)}"]
        w.writerow(row + ([""] if layout == "tconnect" else []))  # t:connect: trailing comma
    if layout == "tconnect":
        for t, v in bg:
            w.writerow([dev, "90693745", "BG", f"{t:%Y-%m-%dT%H:%M:%S}", str(v), ""])
        buf.write("\nType,EventID,EventDateTime,IOB\n")
        w.writerow(["IOB", "81", f"{readings['time'].iloc[0]:%Y-%m-%dT%H:%M:%S}", "1.25"])
    else:
        buf.write("\n" + ",".join(TANDEM_READINGS + ["BG (mg/dL)", "Note"]) + "\n")
        for t, v in bg:
            w.writerow([dev, "90693745", "BG", f"{t:%Y-%m-%dT%H:%M:%S}", str(v), ""])
    header = TCONNECT_BOLUS if layout == "tconnect" else TANDEM_SOURCE_BOLUS
    buf.write("\n" + ",".join(header) + "\n")
    for _, e in _boluses(events).iterrows():
        w.writerow(_tandem_bolus(e, layout))
    return buf.getvalue()


def _boluses(events: pd.DataFrame) -> pd.DataFrame:
    """One bolus row per time: a meal's carbs and its insulin at the same time are one bolus."""
    if not len(events):
        return pd.DataFrame(columns=["time", "carbs_g", "insulin_u"])
    g = events.assign(
        carbs=np.where(events["kind"] == "meal", events["carbs_g"], 0.0),
        ins=np.where(events["kind"] == "insulin", events["insulin_u"], 0.0),
    )
    return (
        g.groupby("time", as_index=False)[["carbs", "ins"]]
        .sum()
        .rename(columns={"carbs": "carbs_g", "ins": "insulin_u"})
    )


def _tandem_bolus(e: pd.Series, layout: str) -> list[str]:
    t = f"{e['time']:%Y-%m-%dT%H:%M:%S}"
    ins, carbs = f"{e['insulin_u']:.2f}", f"{e['carbs_g']:g}"
    kind = "Food" if e["carbs_g"] > 0 else "Correction"
    if layout == "source":
        return ["Bolus", kind, "Standard", "141", "90693745", t, ins, ins, "0", "Completed",
                "", "", "", "", "100", "0", carbs, "110", "30", "10"]  # fmt: skip
    row = [""] * len(TCONNECT_BOLUS)
    vals = {"Type": "Bolus", "Description": "Standard", "BG": "141", "BolusRequestID": "7001.000",
            "BolusCompletionID": "7001.000", "CompletionDateTime": t, "InsulinDelivered": ins,
            "FoodDelivered": ins, "CorrectionDelivered": "0.00", "CompletionStatusID": "3",
            "CompletionStatusDesc": "Completed", "BolusIsComplete": "1", "EventDateTime": t,
            "RequestDateTime": t, "BolusType": "Carb", "BolusRequestOptions": "Standard",
            "StandardPercent": "100.00", "Duration": "0", "CarbSize": carbs, "UserOverride": "0",
            "TargetBG": "110", "CorrectionFactor": "30.00", "IsQuickBolus": "0"}  # fmt: skip
    for k, v in vals.items():
        row[TCONNECT_BOLUS.index(k)] = v
    # the real export has one more, unnamed field after IsQuickBolus, and a trailing comma
    i = TCONNECT_BOLUS.index("IsQuickBolus") + 1
    return row[:i] + ["0"] + row[i:] + [""]


# ---------------------------------------------------------------------------------- Tidepool
def tidepool_data(
    readings: pd.DataFrame, events: pd.DataFrame, offset_min: float, units: str = "mmol/L"
) -> list[dict]:
    """Tidepool data objects: ``cbg`` (mmol/L as Tidepool stores it), ``bolus`` and ``food``."""
    out = []

    def stamp(t: pd.Timestamp) -> dict:
        utc = t - timedelta(minutes=offset_min)
        return {"time": f"{utc:%Y-%m-%dT%H:%M:%S}.000Z", "deviceTime": f"{t:%Y-%m-%dT%H:%M:%S}",
                "timezoneOffset": int(offset_min), "uploadId": "0d92d5c1c22117a18f3620b9e24d3c06"}  # fmt: skip

    for i, (t, g) in enumerate(zip(readings["time"], readings["glucose_mgdl"], strict=True)):
        v = g / MGDL_PER_MMOL if units == "mmol/L" else float(g)
        out.append({"type": "cbg", "id": f"c{i}", "units": units, "value": v, **stamp(t),
                    "deviceId": "DexG6_QX9Z7Y6W5V"})  # fmt: skip
    for i, (_, e) in enumerate(events.iterrows() if len(events) else []):
        if e["kind"] == "insulin":
            out.append(
                {
                    "type": "bolus",
                    "subType": "normal",
                    "id": f"b{i}",
                    "normal": float(e["insulin_u"]),
                    **stamp(e["time"]),
                }
            )
        elif e["kind"] == "meal":
            out.append({"type": "food", "id": f"f{i}", **stamp(e["time"]),
                        "nutrition": {"carbohydrate": {"net": float(e["carbs_g"]), "units": "grams"}}})  # fmt: skip
    return out


# ---------------------------------------------------------------------------------- Nightscout
def _ms(t: pd.Timestamp, offset_min: float) -> int:
    return int((t - timedelta(minutes=offset_min)).value // 1_000_000)


def ns_entries(readings: pd.DataFrame, offset_min: float, api: str = "mongo") -> list[dict]:
    """Nightscout entries as mongoexport (``{"$oid"}``, float ``date``) or API v3 writes them."""
    out = []
    for i, (t, g) in enumerate(zip(readings["time"], readings["glucose_mgdl"], strict=True)):
        ms = _ms(t, offset_min)
        doc = {"device": "xDrip-DexcomG5", "date": float(ms) if api == "mongo" else ms,
               "dateString": f"{t:%Y-%m-%dT%H:%M:%S}.000{_offset_text(offset_min, colon=False)}",
               "sgv": int(round(g)), "direction": "Flat", "type": "sgv", "utcOffset": int(offset_min)}  # fmt: skip
        if api == "mongo":
            doc = {"_id": {"$oid": f"{0x5CD41B5C0000 + i:024x}"}, **doc}
        else:
            doc.update(
                identifier=f"e{i:06d}", app="xDrip", srvModified=ms + 1000, srvCreated=ms + 1000
            )
        out.append(doc)
    return out


def ns_treatments(events: pd.DataFrame, offset_min: float, api: str = "mongo") -> list[dict]:
    """Nightscout treatments (mongoexport: ``created_at`` as ``{"$date": ...}``; API v3: ``date``)."""
    out = []
    for i, (_, e) in enumerate(events.iterrows() if len(events) else []):
        ms = _ms(e["time"], offset_min)
        doc = {"eventType": "Meal Bolus" if e["kind"] == "meal" else "Correction Bolus"}
        if e["kind"] == "meal":
            doc["carbs"] = float(e["carbs_g"])
        else:
            doc["insulin"] = float(e["insulin_u"])
        if api == "mongo":
            iso = f"{e['time']:%Y-%m-%dT%H:%M:%S}{_offset_text(offset_min)}"
            doc = {
                "_id": {"$oid": f"{0x6CD41B5C0000 + i:024x}"},
                **doc,
                "created_at": {"$date": iso},
            }
        else:
            doc.update(date=ms, utcOffset=int(offset_min), identifier=f"t{i:06d}", app="AndroidAPS",
                       srvModified=ms + 500, srvCreated=ms + 500)  # fmt: skip
        out.append(doc)
    return out


def ndjson(docs: list[dict]) -> str:
    """One JSON object a line, as ``mongoexport`` writes (no array)."""
    return "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs)


def api_v3(docs: list[dict]) -> str:
    """A saved API v3 search response."""
    return json.dumps({"status": 200, "result": docs}, indent=1)


# ---------------------------------------------------------------------------------- fixtures
def day_of_readings(start: datetime, n: int, step_min: int = 5, seed: int = 12) -> pd.DataFrame:
    """``n`` readings from ``start`` every ``step_min`` minutes: a smooth day with two meals."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=n, freq=f"{step_min}min")
    h = (t.hour + t.minute / 60).to_numpy()
    g = 100 + 45 * np.exp(-((h - 13.5) ** 2) / 1.5) + 35 * np.exp(-((h - 19.5) ** 2) / 1.2)
    g = np.round(g + rng.normal(0, 4, n))
    return pd.DataFrame({"time": t, "glucose_mgdl": g})


def two_meals(day: datetime) -> pd.DataFrame:
    """Lunch and dinner with their boluses, and one correction."""
    d = pd.Timestamp(day)
    return pd.DataFrame(
        {
            "time": [
                d + pd.Timedelta(h)
                for h in ("12:30:00", "12:30:00", "18:45:00", "18:45:00", "22:10:00")
            ],
            "kind": ["meal", "insulin", "meal", "insulin", "insulin"],
            "carbs_g": [65.0, np.nan, 50.0, np.nan, np.nan],
            "insulin_u": [np.nan, 6.5, np.nan, 5.0, 1.2],
        }
    )


def write_fixtures(root: Path) -> list[Path]:
    """Write the committed fixtures of the issue-12 formats below ``root`` (tests/fixtures)."""
    out: list[Path] = []

    def put(rel: str, data: bytes | str) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        out.append(p)

    day = datetime(2026, 5, 14)
    r = day_of_readings(day, 288)
    ev = two_meals(day)
    bom = b"\xef\xbb\xbf"

    # Lingo: a UK wearer across the spring-forward change (+00:00 -> +01:00), mmol/L, newest first
    start = datetime(2026, 3, 28, 12, 0)
    lr = day_of_readings(start, 240, seed=3)
    utc = lr["time"]  # generated on a steady clock (UTC); local = UTC + offset
    off = np.where(utc >= pd.Timestamp("2026-03-29 01:00"), 60, 0)
    lr = lr.assign(time=utc + pd.to_timedelta(off, unit="min"))
    text = lingo_text(lr, off).splitlines()
    text.insert(5, "2026-03-29T09:07+01:00,")  # a row without a measurement
    text.insert(9, "not a time,5.5")  # a row whose time is not a time stamp
    put("lingo/lingo_mmol_dst.csv", "\n".join(text) + "\n")
    put("lingo/lingo_mgdl.csv", lingo_text(r.iloc[:96], -420, units="mg/dL"))

    # xDrip+: the zip and the plain CSV, with a calibration and a note
    sid = xdrip_text(r, ev, calibrations=[(day + timedelta(hours=7, minutes=2), 104)])
    sid = sid.replace(
        XDRIP_HEADER + "\r\n", XDRIP_HEADER + "\r\n14.05.2026;07:10;;;;;SPU 30\r\n", 1
    )
    write_xdrip(root / "xdrip/exportCSV20260514-193004.zip", sid, zipped=True)
    out.append(root / "xdrip/exportCSV20260514-193004.zip")
    put("xdrip/export20260514-193004.csv", sid)

    # Glooko: the export zip (BOM, title line, newest first) and a German CGM CSV
    cgm = glooko_cgm_text(r).splitlines()
    cgm.insert(10, "2026-05-14 22:47,,QX9Z7Y6W5V")  # a row without a value
    members = {
        "cgm_data_1.csv": "\n".join(cgm) + "\n",
        "Insulin data/bolus_data_1.csv": glooko_bolus_text(ev),
        "Insulin data/basal_data_1.csv": "Name:Zebediah Quuxworth,Date Range:2026-05-14 - 2026-05-14\n"
        "Timestamp,Insulin Type,Duration (minutes),Percentage (%),Rate,Insulin Delivered (U),Serial Number\n"
        + "".join(
            f"2026-05-14 {h:02d}:00,Scheduled,60,,0.8,0.8,QX9Z7Y6W5V\n" for h in range(23, -1, -1)
        ),
        "alarms_data_1.csv": "Name:Zebediah Quuxworth,Date Range:2026-05-14 - 2026-05-14\n"
        "Timestamp,Alarm/Event,Serial Number\n2026-05-14 03:12,Low Glucose,QX9Z7Y6W5V\n",
        "bg_data_1.csv": "Name:Zebediah Quuxworth,Date Range:2026-05-14 - 2026-05-14\n"
        "Timestamp,Glucose Value (mg/dl),Manual Reading,Serial Number\n",
    }
    write_glooko_zip(root / "glooko/glooko_export.zip", members)
    out.append(root / "glooko/glooko_export.zip")
    put("glooko/cgm_data_de_mmol.csv", bom + glooko_cgm_text(r.iloc[:144], "de", "mmol/l").encode())

    # Tandem: Tandem Source (BOM, EGV / BG / bolus sections) and legacy t:connect
    src = tandem_text(
        r, ev, "source", bg=[(day + timedelta(hours=7), 104), (day + timedelta(hours=21), 188)]
    )
    src = src.replace("EGV,2026-05-14T06:00:00,", "EGV,2026-05-14T06:00:00,High_", 1)  # non-numeric
    put("tandem/tandem_source_mgdl.csv", bom + src.encode())
    put(
        "tandem/tconnect_therapy_timeline.csv",
        tandem_text(r.iloc[:120], ev.iloc[:2], "tconnect", bg=[(day + timedelta(hours=7), 104)]),
    )

    # Tidepool JSON: cbg in mmol/L, a bolus, a food entry, an smbg and an upload record
    data = tidepool_data(r, ev, offset_min=120)
    data.append({"type": "smbg", "id": "s1", "units": "mmol/L", "value": 5.8, "time": "2026-05-14T05:00:00.000Z",
                 "deviceTime": "2026-05-14T07:00:00", "timezoneOffset": 120})  # fmt: skip
    data.append({"type": "upload", "id": "u1", "time": "2026-05-14T21:59:00.000Z", "timezoneOffset": 120,
                 "deviceTime": "2026-05-14T23:59:00", "deviceSerialNumber": "QX9Z7Y6W5V"})  # fmt: skip
    data.append(dict(data[3]))  # one datum uploaded twice (same id)
    put("tidepool/tidepool_export.json", json.dumps(data, indent=1))

    # Nightscout mongoexport (NDJSON) and API v3 responses
    ent = ns_entries(r, 120)
    ent.insert(5, dict(ent[4], _id={"$oid": "5cd41b5c1c2f5d0004a1ffff"}))  # uploaded twice
    ent.insert(7, {"_id": {"$oid": "5cd41b5c1c2f5d0004a1fffe"}, "type": "mbg", "mbg": 104,
                   "date": {"$numberLong": str(_ms(pd.Timestamp(day + timedelta(hours=7)), 120))}})  # fmt: skip
    put("nightscout/mongoexport_entries.json", ndjson(ent))
    tre = ns_treatments(ev, 120)
    tre.append({"_id": {"$oid": "6cd41b5c1c2f5d0004a1ffff"}, "eventType": "Temp Basal", "duration": 30,
                "absolute": 0.5, "created_at": {"$date": "2026-05-14T01:00:00.000Z"}})  # fmt: skip
    put("nightscout/mongoexport_treatments.json", ndjson(tre))
    v3e = ns_entries(r.iloc[:48], 120, api="v3")
    put("nightscout/api_v3_entries.json", api_v3(v3e))
    v3t = ns_treatments(ev, 120, api="v3")
    v3t.append(
        dict(v3t[1], insulin=7.0, srvModified=v3t[1]["srvModified"] + 60_000)
    )  # edited later
    v3t.append(dict(v3t[4], isValid=False, srvModified=v3t[4]["srvModified"] + 60_000))  # deleted
    put("nightscout/api_v3_treatments_history.json", api_v3(v3t))
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in write_fixtures(Path(__file__).parent / "fixtures"):
        print(p)
