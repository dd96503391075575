"""CGM sensor model: interstitial delay, calibration drift, AR(2) noise, limits, sampling, gaps.

``CGM(t) = a(d) * IG(t) + b(d) + v(t)`` where

- ``IG`` is interstitial glucose: ``dIG/dt = (G - IG) / tau`` (first order, ``tau`` ~ 7 min);
- ``a(d) = a0 + a1 d + a2 d^2`` is the gain drift over ``d`` days of wear and
  ``b(d) = b0 + b1 d + b2 d^2`` the offset drift (mg/dL), the calibration-error model of
  Vettoretti et al. (second-order polynomials of the days of wear); each sensor draws its own
  ``a0, a1, a2, b0`` around the preset's means (spreads assumed, see :class:`SensorSpec`), ``b1``
  and ``b2`` are the preset's;
- ``v`` is AR(2) noise on the 5-min grid: ``v_k = 1.260 v_{k-1} - 0.402 v_{k-2} + w_k``,
  ``w_k ~ N(0, 3.25^2)`` mg/dL;

Presets and what they leave out (see :data:`SENSORS`): ``dexcom_g6`` uses the Dexcom G6 values of
Vettoretti et al. 2019 (Sensors 19:5320) as the project has them: gain ``0.942 + 0.00494 d -
0.000585 d^2``, a constant offset ``b0 = 6.38`` mg/dL (``b1 = b2 = 0``: the paper's offset drift
coefficients are not reproduced here) and one AR(2) process. ``dexcom_g6_drift`` is the
time-varying calibration error identified on Dexcom G6 data by Vettoretti, Del Favero,
Sparacino & Facchinetti 2019 (IEEE EMBC, doi:10.1109/EMBC.2019.8856790; values as implemented in
the MIT-licensed LoopInsighT1 simulator): gain ``1.048 - 0.033 d + 0.002 d^2`` and offset
``-6.398 + 6.179 d - 0.448 d^2`` mg/dL (about +11 mg/dL by day 4, +15 near day 7, +11 by day 10), with the
same AR(2) noise (that paper adds a second, "common" AR(2) component shared by sensors worn
together, not modelled here). :func:`soleus_analysis.validation.trials.sensor_model_effect`
measures what the offset drift changes in the validation.

Also:

- readings are rounded to whole mg/dL and censored at the device limits (40 and 400 mg/dL:
  the reading is the limit and flagged ``"low"``/``"high"``);
- sampling every 5 min (Dexcom G6/G7, Libre 3) or 15 min (Libre 1/2; the 15-min value is the
  5-min sensor signal sampled every third reading), with random dropouts of a few readings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ..core.schema import CENSORED_HIGH, CENSORED_LOW

#: AR(2) coefficients and innovation SD (mg/dL) of Dexcom G6 noise (Vettoretti et al. 2019).
AR_COEFS: tuple[float, float] = (1.260, -0.402)
AR_INNOVATION_SD: float = 3.25


@dataclass(frozen=True)
class SensorSpec:
    """Parameters of one CGM model.

    Attributes
    ----------
    name : str
        Device label (e.g. ``"dexcom_g6"``).
    interval_min : float
        Sampling interval, min (5 or 15).
    tau_min, tau_sd_min : float
        Blood-to-interstitium time constant, min: per-sensor draw, normal, floor 2 min.
    gain : tuple of float
        Mean drift coefficients ``(a0, a1, a2)`` of ``a(d) = a0 + a1 d + a2 d^2``.
    gain_sd : tuple of float
        Per-sensor SDs of ``(a0, a1, a2)`` (assumed).
    offset_mgdl, offset_sd_mgdl : float
        Mean and per-sensor SD of the offset ``b0`` at insertion, mg/dL.
    offset_drift : tuple of float
        ``(b1, b2)`` of the offset drift ``b(d) = b0 + b1 d + b2 d^2`` (mg/dL per day, per day²);
        ``(0, 0)`` is a constant offset.
    ar : tuple of float
        AR(2) coefficients of the noise on the 5-min grid.
    noise_sd_mgdl : float
        AR(2) innovation SD, mg/dL.
    low_mgdl, high_mgdl : float
        Device limits, mg/dL.
    gap_rate : float
        Probability per reading that a dropout starts.
    gap_mean_readings : float
        Mean length of a dropout, readings (geometric).
    wear_days : float
        Sensor life, days.
    """

    name: str = "dexcom_g6"
    interval_min: float = 5.0
    tau_min: float = 7.0
    tau_sd_min: float = 2.0
    gain: tuple[float, float, float] = (0.942, 0.00494, -0.000585)
    gain_sd: tuple[float, float, float] = (0.03, 0.002, 0.0001)
    offset_mgdl: float = 6.38
    offset_sd_mgdl: float = 3.0
    offset_drift: tuple[float, float] = (0.0, 0.0)
    ar: tuple[float, float] = AR_COEFS
    noise_sd_mgdl: float = AR_INNOVATION_SD
    low_mgdl: float = 40.0
    high_mgdl: float = 400.0
    gap_rate: float = 0.002
    gap_mean_readings: float = 3.0
    wear_days: float = 10.0


#: Device presets. G6 uses the published noise model (``dexcom_g6_drift``: with the published
#: time-varying offset, see the module docstring); the G7 and Libre 3 presets scale the
#: innovation SD down for their lower MARD (Dexcom G7 8.2-9.1%, Garg 2022; Libre 3 7.8%,
#: Alva 2023) and Libre 1/2 sample every 15 min. Scale factors are assumptions.
SENSORS: dict[str, SensorSpec] = {
    "dexcom_g6": SensorSpec(),
    "dexcom_g6_drift": SensorSpec(
        name="dexcom_g6_drift",
        gain=(1.048, -0.033, 0.002),
        offset_mgdl=-6.398,
        offset_drift=(6.179, -0.448),
    ),
    "dexcom_g7": SensorSpec(name="dexcom_g7", noise_sd_mgdl=2.9, tau_min=6.0, wear_days=10.5),
    "libre3": SensorSpec(
        name="libre3",
        noise_sd_mgdl=2.7,
        tau_min=6.0,
        gain_sd=(0.025, 0.0015, 0.0001),
        wear_days=14.0,
    ),
    "libre2": SensorSpec(name="libre2", interval_min=15.0, tau_min=8.0, wear_days=14.0),
    "libre1": SensorSpec(name="libre1", interval_min=15.0, tau_min=8.0, wear_days=14.0),
}


def get_sensor(sensor: str | SensorSpec, **overrides: float) -> SensorSpec:
    """Return a :class:`SensorSpec` from a preset name (or spec), with fields overridden."""
    spec = SENSORS[sensor] if isinstance(sensor, str) else sensor
    return replace(spec, **overrides) if overrides else spec


def ar2_noise(
    n: int,
    rng: np.random.Generator,
    coefs: tuple[float, float] = AR_COEFS,
    sd: float = AR_INNOVATION_SD,
    burn_in: int = 50,
) -> np.ndarray:
    """AR(2) noise series (mg/dL) started from its stationary regime (after ``burn_in`` steps)."""
    w = rng.normal(0.0, sd, n + burn_in)
    v = lfilter([1.0], [1.0, -coefs[0], -coefs[1]], w)
    return v[burn_in:]


def interstitial(glucose: np.ndarray, tau_min: float, dt_min: float = 1.0) -> np.ndarray:
    """First-order blood-to-interstitium filter of a 1-min plasma glucose series (mg/dL).

    Exact discretisation for a piecewise-constant input, starting at equilibrium.
    """
    a = np.exp(-dt_min / tau_min)
    zi = np.array([a * glucose[0]])
    out, _ = lfilter([1.0 - a], [1.0, -a], glucose, zi=zi)
    return out


def gain(days: np.ndarray | float, coefs: tuple[float, float, float]) -> np.ndarray:
    """Calibration gain ``a0 + a1 d + a2 d^2`` for ``d`` days of wear."""
    d = np.asarray(days, dtype=float)
    return coefs[0] + coefs[1] * d + coefs[2] * d**2


def offset(days: np.ndarray | float, coefs: tuple[float, float, float]) -> np.ndarray:
    """Calibration offset ``b0 + b1 d + b2 d^2`` (mg/dL) for ``d`` days of wear."""
    return gain(days, coefs)


def draw_sensor(spec: SensorSpec, rng: np.random.Generator) -> dict[str, float]:
    """Draw one sensor's coefficients: ``tau`` (min), ``a0``, ``a1``, ``a2``, ``b`` (= ``b0``,
    mg/dL) and the preset's offset drift ``b1``, ``b2`` (mg/dL per day, per day²)."""
    z = rng.standard_normal(5)
    return {
        "tau": max(2.0, spec.tau_min + spec.tau_sd_min * z[0]),
        "a0": spec.gain[0] + spec.gain_sd[0] * z[1],
        "a1": spec.gain[1] + spec.gain_sd[1] * z[2],
        "a2": spec.gain[2] + spec.gain_sd[2] * z[3],
        "b": spec.offset_mgdl + spec.offset_sd_mgdl * z[4],
        "b1": float(spec.offset_drift[0]),
        "b2": float(spec.offset_drift[1]),
    }


def _gap_mask(n: int, spec: SensorSpec, rng: np.random.Generator) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    if spec.gap_rate <= 0:
        return keep
    starts = np.flatnonzero(rng.random(n) < spec.gap_rate)
    lengths = rng.geometric(1.0 / max(spec.gap_mean_readings, 1.0), len(starts))
    for s, length in zip(starts, lengths, strict=True):
        keep[s : s + length] = False
    return keep


def sense(
    minutes: np.ndarray,
    glucose: np.ndarray,
    sample_minutes: np.ndarray,
    wear_days: np.ndarray,
    rng: np.random.Generator,
    sensor: str | SensorSpec = "dexcom_g6",
    coefs: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Turn a noise-free plasma glucose curve into CGM readings.

    Parameters
    ----------
    minutes : numpy.ndarray
        Time grid of ``glucose``, min (regular, 1-min step).
    glucose : numpy.ndarray
        Plasma glucose on ``minutes``, mg/dL.
    sample_minutes : numpy.ndarray
        Reading times, min on the same axis (every ``interval_min``; may be fractional).
    wear_days : numpy.ndarray
        Days since sensor insertion at each reading (for the gain and offset drift).
    rng : numpy.random.Generator
        Source of randomness (noise, gaps, and the sensor's coefficients if ``coefs`` is None).
    sensor : str or SensorSpec
        Preset name or spec.
    coefs : dict, optional
        This sensor's coefficients from :func:`draw_sensor` (drawn when omitted).

    Returns
    -------
    pandas.DataFrame
        ``minute`` (min), ``glucose_mgdl`` (rounded, clipped to the limits), ``censored``
        (``"low"``/``"high"``/None), ``true_ig_mgdl`` (noise-free interstitial glucose), and
        ``kept`` (False for readings lost to a dropout).
    """
    spec = get_sensor(sensor)
    c = coefs if coefs is not None else draw_sensor(spec, rng)
    dt = float(minutes[1] - minutes[0]) if len(minutes) > 1 else 1.0
    ig = interstitial(np.asarray(glucose, dtype=float), c["tau"], dt)
    ig_s = np.interp(sample_minutes, minutes, ig)
    # noise on the 5-min grid; 15-min devices take every 3rd value of the 5-min process
    step = max(int(round(spec.interval_min / 5.0)), 1)
    v = ar2_noise(len(sample_minutes) * step, rng, spec.ar, spec.noise_sd_mgdl)[::step]
    a = gain(wear_days, (c["a0"], c["a1"], c["a2"]))
    b = offset(wear_days, (c["b"], c.get("b1", 0.0), c.get("b2", 0.0)))
    raw = a * ig_s + b + v
    value = np.round(raw)
    censored = np.full(len(value), None, dtype=object)
    censored[value < spec.low_mgdl] = CENSORED_LOW
    censored[value > spec.high_mgdl] = CENSORED_HIGH
    value = np.clip(value, spec.low_mgdl, spec.high_mgdl)
    return pd.DataFrame(
        {
            "minute": sample_minutes,
            "glucose_mgdl": value,
            "censored": censored,
            "true_ig_mgdl": ig_s,
            "kept": _gap_mask(len(value), spec, rng),
        }
    )
