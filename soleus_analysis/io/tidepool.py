"""Tidepool JSON export (a list of Tidepool data objects) -> readings and events.

Tidepool's data model (``docs/formats.md``) gives every datum a ``type`` and a ``time`` (the UTC
instant, ISO 8601 with ``Z``); device data add ``deviceTime`` (the device's local clock, no
offset) and ``timezoneOffset`` (minutes east of UTC). Types read:

- ``cbg`` (CGM): ``value`` in ``units`` (``mg/dL`` or ``mmol/L``) -> a reading;
- ``bolus``: ``normal`` (+ ``extended``) units -> an insulin event (``subType`` as label);
- ``wizard`` (bolus calculator): ``carbInput`` grams (``carbUnits`` ``grams``) -> a meal;
- ``food``: ``nutrition.carbohydrate.net`` grams -> a meal;
- ``physicalActivity``: ``duration`` (``value``, ``units``) -> exercise, or an SPU bout where
  its ``name`` names soleus pushups.

Every other type (``smbg`` fingersticks, ``basal``, ``upload``, settings, ...) is counted as
dropped ``"type <name> (not read)"``; a datum repeated with the same ``id`` as ``"duplicate
id"``. The local time is ``time + timezoneOffset``, else ``deviceTime``, else UTC (one warning);
``utc_time_s`` keeps the instant.
"""

from __future__ import annotations

import re
from os import PathLike

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, DEVICE_UNITS, MGDL_PER_MMOL, PLAUSIBLE_MGDL
from .base import (
    RowAccount,
    check_input_file,
    implausible,
    minutes_to_timedelta,
    offset_to_timedelta,
    parse_json,
    to_ns,
    warn_decoding,
)
from .encoding import decode_file
from .spu_text import spu_mask, spu_minutes

FORMAT = "tidepool_json"

_TYPES = (
    "cbg|smbg|bolus|basal|wizard|upload|food|pumpSettings|deviceEvent|cgmSettings|"
    "physicalActivity|insulin|reportedState|cbgSettings"
)
_TYPE_RE = re.compile(r'"type"\s*:\s*"(?:' + _TYPES + r')"')
_SECONDS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "milliseconds": 0.001}


def sniff(text: str, raw: bytes) -> bool:
    """True for a JSON list of Tidepool data (a Tidepool ``type`` and ``time`` with
    ``deviceTime``, ``timezoneOffset`` or ``uploadId``)."""
    t = text.lstrip()
    if not t.startswith("["):
        return False
    head = t[:20000]
    return (
        _TYPE_RE.search(head) is not None
        and '"time"' in head
        and any(k in head for k in ('"deviceTime"', '"timezoneOffset"', '"uploadId"'))
        and '"eventType"' not in head
    )


def _load(path) -> list:
    dec = decode_file(path, "a Tidepool JSON export", "a JSON list of Tidepool data")
    data = parse_json(dec.text, path, "a Tidepool JSON export (a list of Tidepool data)")
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty JSON list of Tidepool data objects", path)
    return data, dec


def _get(rec: object, *keys: str) -> object:
    """A nested value of a record (None where absent)."""
    for key in keys:
        if not isinstance(rec, dict):
            return None
        rec = rec.get(key)
    return rec


def _num(values: list) -> np.ndarray:
    """Finite numbers (bools and text are not numbers; NaN there)."""
    out = [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values]
    arr = np.asarray(out, dtype=np.float64)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _frame(data: list) -> pd.DataFrame:
    """The fields read, one row a datum (nested fields flattened)."""
    cols = {
        "type": ("type",),
        "id": ("id",),
        "time": ("time",),
        "deviceTime": ("deviceTime",),
        "timezoneOffset": ("timezoneOffset",),
        "value": ("value",),
        "units": ("units",),
        "subType": ("subType",),
        "normal": ("normal",),
        "extended": ("extended",),
        "carbInput": ("carbInput",),
        "carbUnits": ("carbUnits",),
        "net": ("nutrition", "carbohydrate", "net"),
        "carb_units": ("nutrition", "carbohydrate", "units"),
        "duration": ("duration", "value"),
        "duration_units": ("duration", "units"),
        "name": ("name",),
    }
    out = {k: [_get(r, *path) for r in data] for k, path in cols.items()}
    df = pd.DataFrame(out, dtype=object)
    for k in ("value", "normal", "extended", "carbInput", "net", "duration", "timezoneOffset"):
        df[k] = _num(out[k])
    return df


def _bare_local(utc: pd.Series, utc_offset: float | str, path) -> pd.Series:
    """Local times of UTC instants by a fixed offset (minutes) or an IANA zone's own offset."""
    if isinstance(utc_offset, str):
        try:
            aware = utc.dt.tz_localize("UTC").dt.tz_convert(utc_offset)
        except (KeyError, ValueError, TypeError):
            raise InputError(
                f"unknown time zone {utc_offset!r}; expected an IANA name like 'Europe/Paris'",
                path,
            ) from None
        return aware.dt.tz_localize(None).astype("datetime64[ns]")
    return utc + offset_to_timedelta(np.full(len(utc), float(utc_offset)))


def _times(
    df: pd.DataFrame, prov: Provenance, utc_offset: float | str | None = None
) -> tuple[pd.Series, np.ndarray]:
    """Local wall-clock times and instants (s since 1970) of the data."""
    utc = pd.to_datetime(df["time"].astype("string"), format="ISO8601", utc=True, errors="coerce")
    utc = to_ns(utc)
    off = df["timezoneOffset"].to_numpy()
    local = utc + offset_to_timedelta(off)  # no zone's offset: NaT, the deviceTime stands
    device = pd.to_datetime(df["deviceTime"].astype("string"), format="ISO8601", errors="coerce")
    local = local.fillna(to_ns(device))
    bare = local.isna() & utc.notna()
    if bare.any() and utc_offset is not None:
        local[bare] = _bare_local(utc[bare], utc_offset, prov.path)
    elif bare.any():
        prov.warn(
            f"{int(bare.sum())} data carry no timezoneOffset and no deviceTime; times kept in UTC"
        )
    local = local.fillna(utc)
    secs = utc.to_numpy(dtype="datetime64[ns]").view("i8") / 1e9
    return local, np.where(utc.isna().to_numpy(), np.nan, secs)


def _duration_min(df: pd.DataFrame) -> np.ndarray:
    """Minutes of each datum's ``duration`` (NaN where none or in unknown units)."""
    return df["duration"].to_numpy() * df["duration_units"].map(_SECONDS).to_numpy(dtype=float) / 60


def _events(
    df: pd.DataFrame,
    t: np.ndarray,
    masks: dict,
    amounts: tuple[np.ndarray, np.ndarray],
    subject: str,
) -> pd.DataFrame:
    """Events of the data in ``masks`` (kind -> mask); ``amounts`` = (insulin U, carbs g)."""
    insulin, carbs = amounts
    name = df["name"].astype("string").fillna("")
    minutes = _duration_min(df)
    minutes = np.where(np.isnan(minutes) & masks["spu"], spu_minutes(name).to_numpy(), minutes)
    end = t + minutes_to_timedelta(minutes).to_numpy()
    subtype = df["subType"].astype("string").fillna("bolus").to_numpy(dtype=object)
    # one row per (datum, kind it gives): the data's indices stacked kind after kind
    idx = np.concatenate([np.flatnonzero(m) for m in masks.values()])
    kinds = np.repeat(np.array(list(masks), dtype=object), [int(m.sum()) for m in masks.values()])
    if not len(idx):
        return pd.DataFrame()
    timed = np.isin(kinds, ["exercise", "spu"])
    ev = pd.DataFrame(
        {
            "time": t[idx],
            "end": np.where(timed, end[idx], np.datetime64("NaT")),
            "kind": kinds,
            "carbs_g": np.where(kinds == "meal", carbs[idx], np.nan),
            "insulin_u": np.where(kinds == "insulin", insulin[idx], np.nan),
            "label": np.where(kinds == "insulin", subtype[idx], name.to_numpy(dtype=object)[idx]),
        }
    ).sort_values(["time", "kind"], kind="stable")
    return ev.assign(subject=subject, source=FORMAT, intensity=None).reset_index(drop=True)


def read_tidepool(
    path: str | PathLike, subject: str | None = None, utc_offset: float | str | None = None
) -> Recording:
    """Read a Tidepool JSON export (CGM readings, boluses, carbs, activity).

    Parameters
    ----------
    path : str or PathLike
        The ``.json`` file exported from Tidepool (a list of data objects).
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    utc_offset : float or str, optional
        For data with neither ``timezoneOffset`` nor ``deviceTime`` (e.g. Dexcom data that came
        through Apple HealthKit, which holds only UTC): minutes east of UTC, or an IANA zone
        such as ``"Europe/Paris"`` whose offset at each instant is used. Without it their local
        time is UTC and one warning says so.

    Returns
    -------
    Recording
        ``readings``: ``cbg`` data in mg/dL (local time, ``utc_time_s``, ``device_units``);
        ``events``: insulin (U), meals (g), exercise and SPU bouts.

    Raises
    ------
    InputError
        Not JSON, not a list of objects, or nested too deeply.
    """
    p = check_input_file(path)
    data, dec = _load(p)
    prov = Provenance(path=str(p), format=FORMAT, rows_read=len(data))
    warn_decoding(prov, dec)
    obj = np.fromiter((isinstance(r, dict) for r in data), bool, len(data))
    rows = RowAccount(prov, np.arange(1, len(data) + 1))
    rows.drop(~obj, "not a JSON object")
    df = _frame(data)
    kind = df["type"].astype("string").fillna("").to_numpy(dtype=object)
    ids = df["id"].astype("string")
    rows.drop((ids.notna() & ids.duplicated()).to_numpy(), "duplicate id", warn=False)
    local, utc = _times(df, prov, utc_offset)
    rows.drop(local.isna().to_numpy(), "unparseable timestamp", "no valid 'time'")
    when = implausible(times=local)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    is_cbg = kind == "cbg"
    units = df["units"].astype("string").str.lower().fillna("").to_numpy(dtype=object)
    mmol = is_cbg & (units == "mmol/l")
    value = df["value"].to_numpy()
    mgdl = np.where(mmol, value * MGDL_PER_MMOL, value)
    rows.drop(is_cbg & ~np.isin(units, ["mmol/l", "mg/dl"]), "cbg without units mg/dL or mmol/L")
    lo, hi = PLAUSIBLE_MGDL
    rows.drop(is_cbg & np.isnan(value), "missing glucose value")
    rows.drop(
        is_cbg & ((mgdl < lo) | (mgdl > hi)), "implausible glucose", f"outside {lo:g}-{hi:g} mg/dL"
    )
    reading = is_cbg & rows.open
    rows.keep(reading)
    insulin = np.nansum(np.c_[df["normal"].to_numpy(), df["extended"].to_numpy()], axis=1)
    wizard_g = (kind == "wizard") & (
        df["carbUnits"].astype("string").fillna("grams").str.lower() == "grams"
    ).to_numpy()
    carbs = np.where(kind == "wizard", df["carbInput"].to_numpy(), df["net"].to_numpy())
    name = df["name"].astype("string").fillna("")
    activity = kind == "physicalActivity"
    spu = activity & spu_mask(name).to_numpy()
    masks = {
        "insulin": (kind == "bolus") & (insulin > 0),
        "meal": (wizard_g | (kind == "food")) & (carbs > 0),
        "exercise": activity & ~spu,
        "spu": spu,
    }
    bad = np.zeros(len(kind), dtype=bool)
    for given in (df["normal"].to_numpy(), df["extended"].to_numpy()):
        bad |= implausible(insulin_u=given) != None  # noqa: E711
    bad |= implausible(carbs_g=carbs) != None  # noqa: E711
    bad &= np.isin(kind, ["bolus", "wizard", "food"])
    rows.drop(bad, "bad insulin or carbs amount", "expected numbers in the plausible ranges")
    long = activity & (implausible(duration_min=_duration_min(df)) != None)  # noqa: E711
    rows.drop(long, "implausible duration", "activity duration out of the plausible range")
    rows.drop((kind == "bolus") & ~masks["insulin"], "no insulin delivered")
    rows.drop((kind == "wizard") & ~wizard_g, "carbs in exchanges (not read)")
    rows.drop(np.isin(kind, ["wizard", "food"]) & ~masks["meal"], "no carbs")
    for m in masks.values():
        m &= rows.open
        rows.keep(m)
    for t in pd.unique(kind[rows.open]):
        rows.drop(rows.open & (kind == t), f"type {t or '(none)'} (not read)", warn=False)
    rows.commit()
    subj = subject or DEFAULT_SUBJECT
    readings = pd.DataFrame(
        {
            "subject": subj,
            "time": local.to_numpy()[reading],
            "glucose_mgdl": mgdl[reading],
            "censored": None,
            "source": FORMAT,
            DEVICE_UNITS: np.where(mmol[reading], "mmol/L", "mg/dL").astype(object),
            "utc_time_s": utc[reading],
        }
    )
    readings = readings.iloc[np.argsort(readings["utc_time_s"].to_numpy(), kind="stable")]
    prov.units = "+".join(sorted(set(readings[DEVICE_UNITS])))
    events = _events(df, local.to_numpy(), masks, (insulin, carbs), subj)
    prov.rows_kept = int(rows.kept.sum())
    return Recording(
        readings=readings.reset_index(drop=True), events=events, provenance=prov.check()
    )


SNIFFERS = [(FORMAT, sniff)]
READERS = {FORMAT: read_tidepool}
