"""Insulin: indices from lab OGTT tables, and a model-based insulin-exposure *proxy* from CGM.

Lab indices take plasma insulin in µU/mL (= mU/L; pmol/L = µU/mL x 6.0) and glucose in mg/dL,
sampled at minutes relative to the glucose drink (t = 0). Every area uses the one definition in
:mod:`soleus_analysis.response`.

The CGM-only proxy (:func:`insulin_proxy`) is **not a measurement**: it is what a population-average
beta cell (Dalla Man et al. 2007) would secrete in response to the observed glucose trace, passed
through population insulin kinetics. It ranks meals by the insulin demand their glucose curve
implies; it knows nothing of the person's own insulin sensitivity or secretion.

References
----------
Matsuda M, DeFronzo RA. Insulin sensitivity indices obtained from oral glucose tolerance testing.
Diabetes Care 1999;22:1462-1470.
Matthews DR et al. Homeostasis model assessment. Diabetologia 1985;28:412-419.
Seltzer HS et al. J Clin Invest 1967;46:323-335 (insulinogenic index).
Dalla Man C, Rizza RA, Cobelli C. Meal simulation model of the glucose-insulin system.
IEEE Trans Biomed Eng 2007;54:1740-1749.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .core.errors import InputError
from .core.schema import MGDL_PER_MMOL
from .response import (
    MEASURE_COLUMNS,
    _as_rows,
    _compact,
    _interp,
    _row_param,
    auc_measures_batch,
    baseline_premeal,
)

__all__ = [
    "PROXY_CAVEAT",
    "PROXY_PARAMS",
    "matsuda",
    "homa_ir",
    "homa_b",
    "insulinogenic_index",
    "insulin_indices",
    "lab_responses",
    "insulin_proxy",
    "insulin_proxy_iauc",
    "insulin_proxy_measures_batch",
]

# --------------------------------------------------------------------------- lab indices


def _rows_value(t: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    tt, yy, n = _compact(t, y)
    return _interp(tt, yy, n, np.full(tt.shape[0], float(at)))


def _rows_mean(t: np.ndarray, y: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    inside = np.isfinite(y) & (t >= window[0]) & (t <= window[1])
    cnt = inside.sum(axis=1)
    tot = np.where(inside, y, 0.0).sum(axis=1)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _out(value: np.ndarray, *inputs) -> float | np.ndarray:
    return float(value[0]) if all(np.ndim(a) <= 1 for a in inputs) else value


def homa_ir(g0_mgdl, i0_uU_ml):
    """HOMA-IR (Matthews 1985 approximation) = G0 [mmol/L] x I0 [µU/mL] / 22.5 (unitless).

    Parameters
    ----------
    g0_mgdl : float or array_like
        Fasting glucose, mg/dL (converted with :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL`).
    i0_uU_ml : float or array_like
        Fasting insulin, µU/mL.
    """
    return np.asarray(g0_mgdl, dtype=float) / MGDL_PER_MMOL * np.asarray(i0_uU_ml, float) / 22.5


def homa_b(g0_mgdl, i0_uU_ml):
    """HOMA-B (%) = 20 x I0 [µU/mL] / (G0 [mmol/L] - 3.5); NaN when G0 <= 3.5 mmol/L.

    Parameters
    ----------
    g0_mgdl : float or array_like
        Fasting glucose, mg/dL.
    i0_uU_ml : float or array_like
        Fasting insulin, µU/mL.
    """
    g = np.asarray(g0_mgdl, dtype=float) / MGDL_PER_MMOL - 3.5
    i = np.asarray(i0_uU_ml, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(g > 0, 20.0 * i / np.where(g > 0, g, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def matsuda(glucose_mgdl, insulin_uU_ml, minutes, window: tuple[float, float] = (0.0, 120.0)):
    """Matsuda (whole-body insulin sensitivity) index from an OGTT (unitless).

    ``10000 / sqrt(G0 x I0 x Gmean x Imean)`` with glucose in mg/dL and insulin in µU/mL, as in
    Matsuda & DeFronzo 1999: ``G0``, ``I0`` are the values at minute 0 (linearly interpolated if
    0 was not sampled exactly), ``Gmean``, ``Imean`` the plain means of the sampled values with
    ``window[0] <= minute <= window[1]`` (the original used 0, 30, 60, 90, 120 min). Glucose and
    insulin are averaged over their own non-missing samples.

    Parameters
    ----------
    glucose_mgdl, insulin_uU_ml : array_like
        Values at ``minutes`` (1-D for one test, or 2-D with one test per row, NaN padding).
    minutes : array_like
        Sample times relative to the drink, minutes.
    window : (float, float), default (0, 120)
        Samples averaged for the means, minutes.

    Returns
    -------
    float or numpy.ndarray
        NaN where any of the four factors is missing or not positive.
    """
    t, g = _as_rows(minutes, glucose_mgdl)
    _, i = _as_rows(minutes, insulin_uU_ml)
    prod = (
        _rows_value(t, g, 0.0)
        * _rows_value(t, i, 0.0)
        * _rows_mean(t, g, window)
        * _rows_mean(t, i, window)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(prod > 0, 10000.0 / np.sqrt(np.where(prod > 0, prod, 1.0)), np.nan)
    return _out(out, glucose_mgdl, insulin_uU_ml, minutes)


def insulinogenic_index(glucose_mgdl, insulin_uU_ml, minutes):
    """Insulinogenic index = (I30 - I0) / (G30 - G0), µU/mL per mg/dL.

    Values at 0 and 30 min are linearly interpolated if not sampled exactly. NaN when
    ``G30 == G0`` or a value is missing. (Papers that use mmol/L report this x 18.0156.)
    """
    t, g = _as_rows(minutes, glucose_mgdl)
    _, i = _as_rows(minutes, insulin_uU_ml)
    dg = _rows_value(t, g, 30.0) - _rows_value(t, g, 0.0)
    di = _rows_value(t, i, 30.0) - _rows_value(t, i, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(dg != 0, di / np.where(dg != 0, dg, 1.0), np.nan)
    return _out(out, glucose_mgdl, insulin_uU_ml, minutes)


def _baseline_rows(t: np.ndarray, y: np.ndarray, rule) -> np.ndarray:
    if isinstance(rule, str) and rule == "t0":
        return _rows_value(t, y, 0.0)
    if isinstance(rule, str) and rule == "premeal":
        return baseline_premeal(t, y)
    raise InputError(f"baseline must be 't0' or 'premeal' for lab tables; got {rule!r}")


def _indices_rows(t, g, i, window, baseline, matsuda_window) -> dict[str, np.ndarray]:
    gb = _baseline_rows(t, g, baseline)
    ib = _baseline_rows(t, i, baseline)
    gm = auc_measures_batch(t, g, gb, window=window)
    im = auc_measures_batch(t, i, ib, window=window)
    g0, i0 = _rows_value(t, g, 0.0), _rows_value(t, i, 0.0)
    out: dict[str, np.ndarray] = {"glucose_baseline_mgdl": gb}
    for col in MEASURE_COLUMNS:
        out[col if col.startswith("glucose_") else f"glucose_{col}"] = gm[col].to_numpy()
    out["insulin_baseline_uU_ml"] = ib
    out["insulin_iauc_uU_ml_min"] = im["iauc_mgdl_min"].to_numpy()
    out["insulin_peak_uU_ml"] = im["peak_mgdl"].to_numpy()
    out["insulin_time_to_peak_min"] = im["time_to_peak_min"].to_numpy()
    out["matsuda"] = np.asarray(matsuda(g, i, t, window=matsuda_window), dtype=float)
    out["homa_ir"] = homa_ir(g0, i0)
    out["homa_b"] = np.asarray(homa_b(g0, i0), dtype=float)
    out["insulinogenic_index"] = np.asarray(insulinogenic_index(g, i, t), dtype=float)
    return out


def insulin_indices(
    minutes,
    glucose_mgdl,
    insulin_uU_ml,
    window: tuple[float, float] = (0.0, 180.0),
    baseline: str = "t0",
    matsuda_window: tuple[float, float] = (0.0, 120.0),
) -> dict[str, float]:
    """Glucose and insulin responses and indices of one OGTT.

    Parameters
    ----------
    minutes : array_like
        Sample times relative to the drink, minutes.
    glucose_mgdl : array_like
        Plasma glucose, mg/dL.
    insulin_uU_ml : array_like
        Plasma insulin, µU/mL (NaN where not measured).
    window : (float, float), default (0, 180)
        Window of the areas and peaks, minutes.
    baseline : {"t0", "premeal"}
        Baseline rule, applied alike to glucose and insulin: the value at 0 min, or the mean of
        the samples at -30..0 min.
    matsuda_window : (float, float), default (0, 120)
        Samples averaged in the Matsuda index.

    Returns
    -------
    dict
        The columns of :func:`lab_responses` other than subject, condition and n_samples.
    """
    t, g = _as_rows(minutes, glucose_mgdl)
    _, i = _as_rows(minutes, insulin_uU_ml)
    rows = _indices_rows(t, g, i, window, baseline, matsuda_window)
    return {k: float(v[0]) for k, v in rows.items()}


def lab_responses(
    samples: pd.DataFrame,
    window: tuple[float, float] = (0.0, 180.0),
    baseline: str = "t0",
    matsuda_window: tuple[float, float] = (0.0, 120.0),
) -> pd.DataFrame:
    """One row per (subject, condition) of a lab OGTT table: areas, peaks and insulin indices.

    Parameters
    ----------
    samples : pandas.DataFrame
        Columns ``subject``, ``condition``, ``minute`` (relative to the drink), ``glucose_mgdl``
        and optionally ``insulin_uU_ml`` (µU/mL; missing column or NaN = not measured), as the lab
        table reader returns them.
    window : (float, float), default (0, 180)
        Window of the areas and peaks, minutes.
    baseline : {"t0", "premeal"}
        Baseline rule for glucose and insulin alike (see :func:`insulin_indices`).
    matsuda_window : (float, float), default (0, 120)
        Samples averaged in the Matsuda index.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``condition``, ``n_samples`` (time points in the window with glucose),
        ``glucose_baseline_mgdl``, ``glucose_iauc_mgdl_min``, ``glucose_net_auc_mgdl_min``,
        ``glucose_total_auc_mgdl_min``, ``glucose_peak_mgdl``, ``glucose_delta_peak_mgdl``,
        ``glucose_time_to_peak_min``, ``glucose_120_mgdl``, ``glucose_time_to_baseline_min``,
        ``glucose_decay_mgdl_per_min`` (see :func:`soleus_analysis.response.auc_measures`),
        ``insulin_baseline_uU_ml``, ``insulin_iauc_uU_ml_min`` (µU/mL·min),
        ``insulin_peak_uU_ml``, ``insulin_time_to_peak_min``, ``matsuda``, ``homa_ir``,
        ``homa_b`` (%), ``insulinogenic_index`` (µU/mL per mg/dL). Sorted by subject, condition.
    """
    need = ["subject", "condition", "minute", "glucose_mgdl"]
    missing = [c for c in need if c not in samples.columns]
    if missing:
        raise InputError(
            f"lab samples lack column(s) {missing}; expected {need + ['insulin_uU_ml']}"
        )
    df = pd.DataFrame(
        {
            "subject": samples["subject"].astype(str).to_numpy(),
            "condition": samples["condition"].astype(str).to_numpy(),
            "minute": pd.to_numeric(samples["minute"], errors="coerce").to_numpy(float),
            "g": pd.to_numeric(samples["glucose_mgdl"], errors="coerce").to_numpy(float),
            "i": (
                pd.to_numeric(samples["insulin_uU_ml"], errors="coerce").to_numpy(float)
                if "insulin_uU_ml" in samples.columns
                else np.full(len(samples), np.nan)
            ),
        }
    )
    df = df.sort_values(["subject", "condition", "minute"], kind="stable").reset_index(drop=True)
    keys = df.groupby(["subject", "condition"], sort=True).ngroup().to_numpy()
    n_groups = int(keys.max()) + 1 if len(keys) else 0
    pos = df.groupby(["subject", "condition"], sort=True).cumcount().to_numpy()
    width = int(pos.max()) + 1 if len(pos) else 1
    t = np.full((n_groups, width), np.nan)
    g, i = t.copy(), t.copy()
    t[keys, pos], g[keys, pos], i[keys, pos] = df["minute"], df["g"], df["i"]
    head = df.drop_duplicates(["subject", "condition"])[["subject", "condition"]]
    out = head.reset_index(drop=True)
    in_win = np.isfinite(g) & (t >= window[0]) & (t <= window[1])
    out["n_samples"] = in_win.sum(axis=1)
    for k, v in _indices_rows(t, g, i, window, baseline, matsuda_window).items():
        out[k] = v
    return out


# --------------------------------------------------------------------------- CGM proxy

#: What a reader of a report must know about the proxy (the full statement, with the
#: simulation figures behind it, is ``validation.trials.PROXY_STATEMENT``).
PROXY_CAVEAT: str = (
    "This figure is a fixed transform of your glucose trace (one population-average model "
    "of insulin secretion run on it), so it restates the glucose result above and is not "
    "separate evidence; it cannot show your insulin level, sensitivity or secretion."
)

#: Population parameters of the insulin proxy (Dalla Man et al. 2007, normal subjects).
#: the per-meal columns of :func:`insulin_proxy_measures_batch`
PROXY_MEASURE_COLUMNS: tuple[str, ...] = (
    "insulin_proxy_baseline_pmol_l",
    "insulin_proxy_iauc_pmol_l_min",
    "insulin_proxy_peak_pmol_l",
)

PROXY_PARAMS: dict[str, float] = {
    "K": 2.30,  # pmol/kg per mg/dL: secretion in response to the rate of rise of glucose
    "alpha": 0.050,  # 1/min: delay of the provision of new insulin
    "beta": 0.11,  # pmol/kg/min per mg/dL: provision per glucose above threshold
    "gamma": 0.5,  # 1/min: transfer from the portal vein to the liver
    "m1": 0.190,  # 1/min: liver -> plasma
    "m2": 0.484,  # 1/min: plasma -> liver
    "m4": 0.194,  # 1/min: peripheral degradation
    "he": 0.6,  # hepatic extraction at basal (m3 = he * m1 / (1 - he))
    "vi": 0.05,  # L/kg: insulin distribution volume
    "ib": 25.0,  # pmol/L: basal plasma insulin the model is tuned to
}


def _params(params: dict | None) -> dict[str, float]:
    p = dict(PROXY_PARAMS)
    if params:
        unknown = set(params) - set(p)
        if unknown:
            raise InputError(f"unknown insulin proxy parameter(s) {sorted(unknown)}")
        p.update({k: float(v) for k, v in params.items()})
    return p


def _basal_secretion(p: dict[str, float]) -> float:
    """Basal secretion Sb (pmol/kg/min) that holds plasma insulin at ``ib`` in steady state."""
    m3 = p["he"] * p["m1"] / (1.0 - p["he"])
    ip = p["ib"] * p["vi"]
    il = (p["m2"] + p["m4"]) / p["m1"] * ip
    return (p["m1"] + m3) * il - p["m2"] * ip


@lru_cache(maxsize=16)
def _discrete_system(key: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The model discretised on a 1-min grid (inputs held constant over each minute).

    Returns ``(ad, bd)``: the 4 x 4 state transition over one minute and the 4 x 2 input matrix
    (inputs: secretion driven by glucose above basal, and by its rise; pmol/kg/min). The state
    is Y, Ipo (portal), Il (liver), Ip (plasma), deviations from basal (pmol/kg); plasma insulin
    deviation (pmol/L) is ``Ip / vi``.
    """
    p = dict(key)
    m3 = p["he"] * p["m1"] / (1.0 - p["he"])
    a = np.array(
        [
            [-p["alpha"], 0.0, 0.0, 0.0],
            [1.0, -p["gamma"], 0.0, 0.0],
            [0.0, p["gamma"], -(p["m1"] + m3), p["m2"]],
            [0.0, 0.0, p["m1"], -(p["m2"] + p["m4"])],
        ]
    )
    b = np.array([[p["alpha"], 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    aug = np.zeros((6, 6))
    aug[:4, :4], aug[:4, 4:] = a, b
    from scipy import linalg  # only when the proxy is computed (scipy.signal is not needed)

    e = linalg.expm(aug)  # exact discretisation for inputs held constant over each minute
    return e[:4, :4], e[:4, 4:]


@lru_cache(maxsize=64)
def _response_matrices(
    key: tuple[tuple[str, float], ...], length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each input's exact response on a grid of ``length`` minutes, as convolution matrices.

    ``h[m] = Ip-row of ad^(m-1) bd / vi`` (pmol/L per pmol/kg/min) for ``m >= 1`` and
    ``h[0] = 0`` (an input moves plasma insulin only from the next minute on). Returns two
    ``length x length`` upper-triangular Toeplitz matrices ``T`` with ``T[j, k] = h[k - j]``,
    so that ``u @ T`` is the deviation at each grid minute ``k`` from the inputs of minutes
    ``0 .. k - 1`` (rows of ``u``: one meal each): the state-space recursion from a basal
    start, without the transfer-function round trip.
    """
    p = dict(key)
    ad, bd = _discrete_system(key)
    h = np.zeros((length, 2))
    x = bd.copy()
    for m in range(1, length):
        h[m] = x[3] / p["vi"]
        x = ad @ x
    lag = np.arange(length)[None, :] - np.arange(length)[:, None]
    out = []
    for j in range(2):
        t = np.where(lag >= 0, h[np.clip(lag, 0, None), j], 0.0)
        t.setflags(write=False)
        out.append(t)
    return out[0], out[1]


def _proxy_grid(minutes, glucose_mgdl, params, gb_mgdl):
    """Proxy on each row's own 1-min grid from its first valid sample.

    Returns ``(grid, proxy, last)``: grid minutes and proxy (pmol/L), shape (rows, L), and each
    row's last valid sample time (the grid beyond it is NaN).
    """
    p = _params(params)
    t, y = _as_rows(minutes, glucose_mgdl)
    t, y, n = _compact(t, y)
    n_rows = t.shape[0]
    has = n >= 1
    rows = np.arange(n_rows)
    first = np.where(has, t[:, 0], 0.0)
    last = np.where(has, t[rows, np.maximum(n - 1, 0)], 0.0)
    # at least two grid minutes, so a row with one sample (or none) still has one step
    length = max(int(np.ceil(np.max(last - first))) + 1 if n_rows else 1, 2)
    grid = first[:, None] + np.arange(length)[None, :]
    # one np.interp over all rows: shift each row to its own disjoint stretch of the axis
    span = float(np.max(last - first)) + length + 10.0 if n_rows else 1.0
    offset = rows * span
    ok = np.isfinite(t)
    xp = (t - first[:, None] + offset[:, None])[ok]
    fp = y[ok]
    if xp.size:
        x = np.minimum(grid, last[:, None]) - first[:, None] + offset[:, None]
        gg = np.interp(x.ravel(), xp, fp).reshape(grid.shape)
    else:
        gg = np.zeros(grid.shape)
    gb = y[:, 0] if gb_mgdl is None else _row_param(gb_mgdl, n_rows, "gb_mgdl")
    sb = _basal_secretion(p)
    g_mid = 0.5 * (gg[:, :-1] + gg[:, 1:])
    u_y = np.maximum(p["beta"] * (g_mid - gb[:, None]), -sb)
    u_k = p["K"] * np.maximum(np.diff(gg, axis=1), 0.0)
    # the deviation at grid minute k depends on the inputs of minutes 0..k-1 only (no direct
    # feed-through), so one extra held input yields the last grid minute as well
    u_y = np.column_stack([u_y, u_y[:, -1:]])
    u_k = np.column_stack([u_k, u_k[:, -1:]])
    t_y, t_k = _response_matrices(tuple(sorted(p.items())), u_y.shape[1])
    dev = u_y @ t_y + u_k @ t_k
    # secretion is never negative (u_y >= -Sb), so plasma insulin is >= 0 exactly; the clip only
    # removes rounding (~1e-14 pmol/L) where secretion has shut off
    proxy = np.maximum(p["ib"] + dev, 0.0)
    # the grid minute at or after the last sample is moved back onto it (interpolated), and the
    # grid beyond is cut, so the proxy covers exactly first..last of each row
    c = np.clip(np.ceil(last - first - 1e-9).astype(np.int64), 0, length - 1)
    cp = np.maximum(c - 1, 0)
    t_c, t_p = grid[rows, c], grid[rows, cp]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(c > cp, (last - t_p) / (t_c - t_p), 0.0)
    proxy[rows, c] = proxy[rows, cp] + frac * (proxy[rows, c] - proxy[rows, cp])
    grid[rows, c] = np.where(c > cp, last, t_c)
    beyond = np.arange(length)[None, :] > c[:, None]
    proxy[beyond] = np.nan
    grid[beyond] = np.nan
    proxy[~has] = np.nan
    return grid, proxy, last


def insulin_proxy(
    minutes, glucose_mgdl, params: dict | None = None, gb_mgdl: float | np.ndarray | None = None
) -> np.ndarray:
    """Model-based plasma insulin *proxy* (pmol/L) from a glucose trace alone. Not a measurement.

    A population-average beta cell (Dalla Man et al. 2007) is driven by the observed glucose:

    - secretion ``Spo = Y + K·max(dG/dt, 0) + Sb`` (pmol/kg/min), with
      ``dY/dt = -alpha·(Y - max(beta·(G - Gb), -Sb))`` (so total secretion never goes below 0),
    - portal vein ``dIpo/dt = -gamma·Ipo + Spo``, ``S = gamma·Ipo``,
    - insulin kinetics ``dIl/dt = -(m1 + m3)·Il + m2·Ip + S``, ``dIp/dt = -(m2 + m4)·Ip + m1·Il``,
      ``I = Ip / VI``, ``m3 = HE·m1 / (1 - HE)``,

    with the parameters in :data:`PROXY_PARAMS` and ``Sb`` chosen so that basal insulin is ``ib``.

    Assumptions (why it is a proxy): population parameters for everyone (no personal insulin
    sensitivity, secretion or clearance); constant hepatic extraction; the person is in basal
    steady state at ``Gb`` at the first sample; sensor glucose stands for plasma glucose (no
    interstitial lag correction); glucose is linear between samples, gaps (NaN) are bridged
    linearly; noise in ``dG/dt`` feeds the ``K`` term.

    Integration: the model is linear in its two inputs (``max(beta·(G - Gb), -Sb)`` and
    ``K·max(dG/dt, 0)``), so it is discretised exactly on a 1-min grid with the inputs held
    over each minute (glucose at the minute's midpoint, slope over the minute) and run as a
    recursive filter, vectorised over rows.

    Parameters
    ----------
    minutes : array_like
        Sample times, minutes (1-D one trace, or 2-D one trace per row with NaN padding).
    glucose_mgdl : array_like
        Glucose, mg/dL; NaN skipped.
    params : dict, optional
        Overrides of :data:`PROXY_PARAMS`.
    gb_mgdl : float or array_like, optional
        Basal glucose (threshold ``h = Gb``), mg/dL; default the first valid reading of each trace.

    Returns
    -------
    numpy.ndarray
        Proxy plasma insulin, pmol/L (divide by 6.0 for µU/mL), at each input time; NaN where the
        input glucose or time is NaN.
    """
    t_in, y_in = _as_rows(minutes, glucose_mgdl)
    grid, proxy, _ = _proxy_grid(t_in, y_in, params, gb_mgdl)
    # the grid of row r is grid[r, 0] + 0, 1, 2, ... minutes: interpolate by index arithmetic
    pos = t_in - grid[:, :1]
    valid = np.isfinite(t_in) & np.isfinite(y_in)
    pos = np.where(valid, pos, 0.0)
    k = np.clip(np.floor(pos).astype(np.int64), 0, max(grid.shape[1] - 2, 0))
    k1 = np.minimum(k + 1, grid.shape[1] - 1)
    t_lo = np.take_along_axis(grid, k, axis=1)
    t_hi = np.take_along_axis(grid, k1, axis=1)
    lo = np.take_along_axis(proxy, k, axis=1)
    hi = np.take_along_axis(proxy, k1, axis=1)
    t_q = np.where(valid, t_in, t_lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(t_q == t_lo, lo, lo + (t_q - t_lo) / (t_hi - t_lo) * (hi - lo))
    out = np.where(valid, out, np.nan)
    return out[0] if np.ndim(minutes) <= 1 and np.ndim(glucose_mgdl) <= 1 else out


def insulin_proxy_measures_batch(
    minutes_2d,
    glucose_2d,
    window: tuple[float, float] = (0.0, 180.0),
    baseline: str | float = "t0",
    params: dict | None = None,
    gb_mgdl=None,
) -> pd.DataFrame:
    """Insulin-proxy response of many windows (see :func:`insulin_proxy`).

    Parameters
    ----------
    minutes_2d, glucose_2d : array_like, shape (n_windows, n_samples)
        Minutes relative to the meal and glucose (mg/dL), NaN padding. Include readings before
        the window if available: the model starts in basal state at the first reading.
    window : (float, float), default (0, 180)
        Window of the area, minutes.
    baseline : "t0" or float
        Proxy baseline: its value at the window start, or a number in pmol/L.
    params, gb_mgdl
        As in :func:`insulin_proxy`.

    Returns
    -------
    pandas.DataFrame
        ``insulin_proxy_baseline_pmol_l``, ``insulin_proxy_iauc_pmol_l_min`` (pmol/L·min, the
        Wolever iAUC of the 1-min proxy curve), ``insulin_proxy_peak_pmol_l``.
    """
    if isinstance(baseline, str) and baseline != "t0":
        raise InputError(f"insulin proxy baseline must be 't0' or a number; got {baseline!r}")
    t = np.asarray(minutes_2d, dtype=float)
    if t.size == 0:  # no windows, or windows without a sample: nothing to model
        n_rows = t.shape[0] if t.ndim == 2 else 1
        return pd.DataFrame({c: np.full(n_rows, np.nan) for c in PROXY_MEASURE_COLUMNS})
    grid, proxy, _ = _proxy_grid(minutes_2d, glucose_2d, params, gb_mgdl)
    tt, pp, n = _compact(grid, proxy)
    if isinstance(baseline, str):
        base = _interp(tt, pp, n, np.full(tt.shape[0], float(window[0])))
    else:
        base = _row_param(baseline, tt.shape[0], "baseline")
    m = auc_measures_batch(tt, pp, base, window=window)
    return pd.DataFrame(
        {
            "insulin_proxy_baseline_pmol_l": base,
            "insulin_proxy_iauc_pmol_l_min": m["iauc_mgdl_min"].to_numpy(),
            "insulin_proxy_peak_pmol_l": m["peak_mgdl"].to_numpy(),
        }
    )


def insulin_proxy_iauc(
    minutes,
    glucose_mgdl,
    window: tuple[float, float] = (0.0, 180.0),
    baseline: str | float = "t0",
    params: dict | None = None,
    gb_mgdl: float | None = None,
) -> float:
    """iAUC of the insulin *proxy* over ``window``, pmol/L·min (one trace).

    See :func:`insulin_proxy_measures_batch`; the area is the Wolever iAUC
    (:func:`soleus_analysis.response.iauc`) of the proxy on its 1-min grid above its value at
    the window start (``baseline="t0"``) or above a given number (pmol/L).
    """
    out = insulin_proxy_measures_batch(
        minutes, glucose_mgdl, window=window, baseline=baseline, params=params, gb_mgdl=gb_mgdl
    )
    return float(out["insulin_proxy_iauc_pmol_l_min"].iloc[0])
