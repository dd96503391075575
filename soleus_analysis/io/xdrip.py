"""xDrip+ CSV export (SiDiary layout), plain or in the zip xDrip+ writes it into.

xDrip+ (Settings -> Import/Export -> Export to CSV (SiDiary)) writes ``exportCSV<date>.zip``
holding one ``export<date>.csv`` (see ``docs/formats.md``)::

    DAY;TIME;UDT_CGMS;BG_LEVEL;CH_GR;BOLUS;REMARK
    14.05.2026;19:20;115;;;;          a sensor reading (mg/dL, rounded)
    14.05.2026;19:31;;104;;;          a fingerstick calibration
    14.05.2026;12:30;;;45;4.5;lunch   a treatment: carbs (g), insulin (U), notes

Rules this reader follows:

- ``DAY`` (``dd.MM.yyyy``) and ``TIME`` (``HH:mm``) are the phone's local wall-clock time;
  values are mg/dL (xDrip+ computes in mg/dL whatever it displays).
- A ``UDT_CGMS`` value is a reading; a ``BG_LEVEL`` value is a calibration, counted as dropped
  (``"calibration (fingerstick BG)"``); ``CH_GR`` > 0 is a meal (``carbs_g``), ``BOLUS`` > 0 an
  insulin dose (``insulin_u``), ``REMARK`` a note (``||`` stands for a line break) or, where it
  names soleus pushups, an SPU bout. One treatment row may give several events; it is one row
  kept.
- The zip is read in memory, never extracted to disk; it must hold exactly one CSV.
"""

from __future__ import annotations

import re
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, DEVICE_UNITS, PLAUSIBLE_MGDL
from .base import (
    ZIP_ERRORS,
    RowAccount,
    check_input_file,
    csv_table,
    csv_text,
    implausible,
    minutes_to_timedelta,
    read_head,
    to_float,
    to_ns,
    warn_decoding,
    zip_csv_members,
    zip_member_text,
)
from .encoding import Decoded
from .spu_text import spu_mask, spu_minutes

FORMAT = "xdrip_csv"
ZIP_FORMAT = "xdrip_csv_zip"

#: The header xDrip+ writes, verbatim.
HEADER = "DAY;TIME;UDT_CGMS;BG_LEVEL;CH_GR;BOLUS;REMARK"
_COLUMNS = ["day", "time", "udt_cgms", "bg_level", "ch_gr", "bolus", "remark"]
#: The entry name of the CSV inside the zip xDrip+ writes (``export20240420-093005.csv``).
_ENTRY = re.compile(rb"export\d{8}-\d{6}\.csv")


def sniff(text: str, raw: bytes) -> bool:
    """True when the first non-blank line is the SiDiary header xDrip+ writes."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return first.strip().upper().replace(" ", "") == HEADER


def sniff_zip(text: str, raw: bytes) -> bool:
    """True for a zip whose first entry is named like xDrip+'s ``export<date>.csv``."""
    return raw.startswith(b"PK\x03\x04") and _ENTRY.match(raw[30:60]) is not None


def _zip_text(path: Path) -> Decoded:
    """The decoded text of the one CSV in an xDrip+ export zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zip_csv_members(zf)
            if len(names) != 1:
                raise InputError(
                    f"the zip holds {len(names)} CSV files; expected the one export<date>.csv "
                    "xDrip+ writes",
                    path,
                )
            dec = zip_member_text(zf, names[0], path, "xDrip+'s SiDiary CSV")
    except InputError:  # an InputError is a ValueError: never re-worded as a zip error
        raise
    except ZIP_ERRORS as err:
        raise InputError(
            f"not a readable zip ({err}); expected xDrip+'s CSV export zip", path
        ) from None
    if not dec.text.strip():
        raise InputError("the CSV in the zip is empty; expected xDrip+'s SiDiary CSV", path)
    return dec


def _events(table: pd.DataFrame, ok: np.ndarray, times: pd.Series, subject: str) -> pd.DataFrame:
    """Meals, insulin doses, notes and SPU bouts of the treatment rows in ``ok``."""
    carbs = to_float(table["ch_gr"].to_numpy(dtype=object))
    insulin = to_float(table["bolus"].to_numpy(dtype=object))
    remark = table["remark"].str.replace("||", "\n", regex=False)
    spu = spu_mask(remark).to_numpy()
    minutes = spu_minutes(remark).to_numpy()
    t = times.to_numpy()
    notes = (remark != "").to_numpy()
    masks = [ok & (carbs > 0), ok & (insulin > 0), ok & spu, ok & ~spu & notes]
    idx = np.concatenate([np.flatnonzero(m) for m in masks])
    if not len(idx):
        return pd.DataFrame()
    kind = np.repeat(["meal", "insulin", "spu", "note"], [int(m.sum()) for m in masks])
    bout = kind == "spu"
    end = t[idx] + minutes_to_timedelta(np.where(bout, minutes[idx], np.nan)).to_numpy()
    ev = pd.DataFrame(
        {
            "time": t[idx],
            "end": end,
            "kind": kind,
            "carbs_g": np.where(kind == "meal", carbs[idx], np.nan),
            "insulin_u": np.where(kind == "insulin", insulin[idx], np.nan),
            "label": np.where(bout | (kind == "note"), remark.to_numpy(dtype=object)[idx], None),
        }
    ).sort_values("time", kind="stable")
    return ev.assign(subject=subject, source=FORMAT, intensity=None).reset_index(drop=True)


def _read_text(text: str, path: Path, prov: Provenance, subject: str | None) -> Recording:
    table, header_line = csv_table(text, path, prov)
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; expected the header {HEADER}", path, header_line
        )
    rows = RowAccount(prov, table["_line"].to_numpy())
    stamp = table["day"] + " " + table["time"]
    times = to_ns(pd.to_datetime(stamp, format="%d.%m.%Y %H:%M", errors="coerce"))
    rows.drop(
        times.isna().to_numpy(), "unparseable timestamp", "expected DAY dd.MM.yyyy and TIME HH:mm"
    )
    when = implausible(times=times)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    cgm_raw = table["udt_cgms"].to_numpy(dtype=object)
    cgm = to_float(cgm_raw)
    has_cgm = cgm_raw != ""
    rows.drop(has_cgm & np.isnan(cgm), "non-numeric glucose")
    lo, hi = PLAUSIBLE_MGDL
    rows.drop(
        has_cgm & ((cgm < lo) | (cgm > hi)), "implausible glucose", f"outside {lo:g}-{hi:g} mg/dL"
    )
    is_reading = has_cgm & rows.open
    rows.keep(is_reading)
    carbs_raw, bolus_raw = (table[c].to_numpy(dtype=object) for c in ("ch_gr", "bolus"))
    carbs, bolus = to_float(carbs_raw), to_float(bolus_raw)
    bad_amount = ((carbs_raw != "") & np.isnan(carbs)) | ((bolus_raw != "") & np.isnan(bolus))
    bad_amount |= implausible(carbs_g=carbs, insulin_u=bolus) != None  # noqa: E711
    rows.drop(
        bad_amount,
        "bad carbs or insulin amount",
        "CH_GR or BOLUS is not a number in the plausible range",
    )
    calibration = (table["bg_level"] != "").to_numpy()
    treatment = (table[["ch_gr", "bolus", "remark"]] != "").any(axis=1).to_numpy()
    nonzero = (to_float(table["ch_gr"].to_numpy(dtype=object)) > 0) | (
        to_float(table["bolus"].to_numpy(dtype=object)) > 0
    )
    is_event = rows.open & treatment & (nonzero | (table["remark"] != "").to_numpy())
    rows.keep(is_event)
    rows.drop(calibration, "calibration (fingerstick BG)", warn=False)
    rows.drop(rows.open, "empty row (no value)")
    rows.commit()
    subj = subject or DEFAULT_SUBJECT
    readings = pd.DataFrame(
        {
            "subject": subj,
            "time": times.to_numpy()[is_reading],
            "glucose_mgdl": cgm[is_reading],
            "censored": None,
            "source": FORMAT,
            DEVICE_UNITS: "mg/dL",
        }
    ).sort_values("time", kind="stable")
    events = _events(table, is_event, times, subj)
    prov.rows_kept = int(rows.kept.sum())
    return Recording(
        readings=readings.reset_index(drop=True), events=events, provenance=prov.check()
    )


def read_xdrip(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read xDrip+'s SiDiary CSV export (the ``.csv`` itself or the zip xDrip+ writes).

    Parameters
    ----------
    path : str or PathLike
        ``export<date>.csv`` or ``exportCSV<date>.zip``.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.

    Returns
    -------
    Recording
        ``readings`` (mg/dL, local time, oldest first) and ``events``: meals (``carbs_g``, g),
        insulin (``insulin_u``, U), notes and SPU bouts from ``REMARK``.

    Raises
    ------
    InputError
        Not the SiDiary header, a zip that is not readable or holds no single CSV, no data rows.
    """
    p = check_input_file(path)
    is_zip = read_head(p, 4) == b"PK\x03\x04"
    dec = _zip_text(p) if is_zip else csv_text(p, "xDrip+'s SiDiary CSV")
    prov = Provenance(path=str(p), format=ZIP_FORMAT if is_zip else FORMAT, units="mg/dL")
    warn_decoding(prov, dec)
    return _read_text(dec.text, p, prov, subject)


SNIFFERS = [(ZIP_FORMAT, sniff_zip), (FORMAT, sniff)]
READERS = {FORMAT: read_xdrip, ZIP_FORMAT: read_xdrip}
