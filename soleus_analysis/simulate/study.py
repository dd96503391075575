"""Simulate a whole study: people, both conditions, lab samples, CGM readings, events and truth.

:func:`simulate_study` turns a :class:`~soleus_analysis.simulate.protocols.Protocol` into a
:class:`Study`: per-person parameters, venous lab values, CGM readings and events in the
canonical frames the readers produce, the noise-free curves, and the ground truth (glucose and
insulin iAUC from the noise-free plasma curves, baseline at t0, over the protocol window).
:func:`population_truth` gives the noise-free reduction of a very large cohort: the estimand of
coverage studies of crossover trials. For free-living self-trackers every meal is simulated under
both conditions (potential outcomes) and :func:`person_effect` defines each person's true effect
from them. :func:`implied_physiology` reports what the calibrated SPU term means physically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.schema import PMOL_PER_UU, conform_events, conform_readings
from ..response import iauc_batch
from .constants import SPU_GAIN
from .physiology import SimResult, sample_parameters, simulate
from .protocols import Protocol, get_protocol
from .sensor import SENSORS, draw_sensor, sense

CONDITIONS: tuple[str, str] = ("control", "spu")

#: Within-person day-to-day variability (CV) of insulin sensitivity and gut absorption between
#: the two test days of a crossover (assumed 10%).
DAY_TO_DAY_CV: float = 0.10


@dataclass
class Study:
    """A simulated study (everything labelled synthetic).

    Attributes
    ----------
    protocol : Protocol
        The design simulated (with overrides applied).
    seed : int
        Seed of the whole simulation.
    params : pandas.DataFrame
        One row per person: ``subject`` and the model parameters (see
        :func:`~soleus_analysis.simulate.physiology.sample_parameters`), ``spu_gain``.
    venous : pandas.DataFrame
        Lab values: ``subject``, ``condition``, ``minute``, ``glucose_mgdl`` (mg/dL),
        ``insulin_uU_ml`` (µU/mL), with assay noise.
    cgm : pandas.DataFrame
        Canonical readings (``subject, time, glucose_mgdl, censored, source``) plus
        ``transmitter_time_s`` and ``transmitter_id``; empty when the protocol has no CGM.
    events : pandas.DataFrame
        Canonical events: the drinks/meals (``kind="meal"``) and SPU bouts (``kind="spu"``).
    true_curves : pandas.DataFrame
        Noise-free 1-min plasma curves: ``subject``, ``condition``, ``minute`` (relative to the
        drink; free-living: since the start), ``time``, ``glucose_mgdl``, ``insulin_uU_ml``.
    truth : pandas.DataFrame
        One row per test (meal): ``subject``, ``condition``, ``meal_time``, ``carbs_g``,
        ``glucose_iauc_mgdl_min``, ``insulin_iauc_uU_ml_min`` (noise-free, baseline t0, window
        0..``protocol.window_min``). Free-living studies add each meal's randomisation
        ``block`` and its two potential outcomes, ``glucose_iauc_control_mgdl_min``,
        ``glucose_iauc_spu_mgdl_min``, ``insulin_iauc_control_uU_ml_min`` and
        ``insulin_iauc_spu_uU_ml_min`` (the same meal simulated without and with its SPU bout;
        one of each pair is the factual value), from which :meth:`person_truth` defines each
        person's true effect.
    """

    protocol: Protocol
    seed: int
    params: pd.DataFrame
    venous: pd.DataFrame
    cgm: pd.DataFrame
    events: pd.DataFrame
    true_curves: pd.DataFrame
    truth: pd.DataFrame
    metadata: dict = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        """Subject ids."""
        return list(self.params["subject"])

    def true_reduction(self) -> dict[str, float]:
        """Noise-free reduction of the simulated people, percent.

        Returns
        -------
        dict
            ``glucose_iauc_reduction_pct`` and ``insulin_iauc_reduction_pct``:
            ``100 * (1 - mean(SPU) / mean(control))`` over the tests (free-living: meals).
        """
        return truth_reduction(self.truth)

    def person_truth(self, value: str = "glucose") -> pd.DataFrame:
        """Each person's true N-of-1 effect (free-living studies): see :func:`person_effect`."""
        if self.protocol.design != "freeliving":
            raise ValueError("person_truth needs a free-living study (meals with both outcomes)")
        return person_effect(self.truth, value)

    def true_iauc(self, window: float | None = None, value: str = "glucose_mgdl") -> pd.DataFrame:
        """Noise-free iAUC of each test over ``0..window`` (baseline at t0), from the curves.

        The same integral as :attr:`truth` (which holds it over the protocol's window), for any
        window: the ground truth of an analysis that uses another window.

        Parameters
        ----------
        window : float, optional
            Window end, minutes after the drink (default the protocol's ``window_min``).
        value : {"glucose_mgdl", "insulin_uU_ml"}
            Noise-free curve of :attr:`true_curves` to integrate.

        Returns
        -------
        pandas.DataFrame
            One row per test in the order of :attr:`true_curves`: ``subject``, ``condition``
            and ``true_iauc`` (mg/dL·min for glucose, µU/mL·min for insulin).
        """
        if self.protocol.design != "crossover_ogtt":
            raise ValueError("true_iauc needs a crossover study (every test starts at minute 0)")
        w = float(self.protocol.window_min if window is None else window)
        curves = self.true_curves
        keys = curves[["subject", "condition"]].drop_duplicates(ignore_index=True)
        values = curves[value].to_numpy(float).reshape(len(keys), -1)
        minutes = curves["minute"].to_numpy(float)[: values.shape[1]]
        keys["true_iauc"] = _iauc_rows(minutes, values, w)
        return keys


def truth_reduction(truth: pd.DataFrame) -> dict[str, float]:
    """Noise-free SPU reduction of a truth table, percent: the one definition of the truth.

    Parameters
    ----------
    truth : pandas.DataFrame
        One row per test or meal: ``condition`` (``"control"``/``"spu"``),
        ``glucose_iauc_mgdl_min`` and ``insulin_iauc_uU_ml_min`` (as :attr:`Study.truth` or the
        ``synthetic_<protocol>_truth.csv`` file hold them).

    Returns
    -------
    dict
        ``glucose_iauc_reduction_pct`` and ``insulin_iauc_reduction_pct``:
        ``100 * (1 - mean(SPU) / mean(control))`` over the rows.
    """
    means = truth.groupby("condition")[["glucose_iauc_mgdl_min", "insulin_iauc_uU_ml_min"]].mean()
    out = {}
    for col, key in (
        ("glucose_iauc_mgdl_min", "glucose_iauc_reduction_pct"),
        ("insulin_iauc_uU_ml_min", "insulin_iauc_reduction_pct"),
    ):
        out[key] = float(100.0 * (1.0 - means.loc["spu", col] / means.loc["control", col]))
    return out


def _apply(protocol: str | Protocol, overrides: dict) -> Protocol:
    proto = get_protocol(protocol)
    if overrides:
        names = {f.name for f in dataclasses.fields(Protocol)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise ValueError(f"unknown protocol field(s) {bad}; expected some of {sorted(names)}")
        proto = dataclasses.replace(proto, **overrides)
    return proto


def _iauc_rows(minutes: np.ndarray, values: np.ndarray, window: float) -> np.ndarray:
    """iAUC (baseline = value at minute 0) of each row over 0..window, via response.iauc_batch.

    The rows are cut from minute 0 to the first minute at or after ``window``, which
    :func:`~soleus_analysis.response.iauc_batch` then clips at ``window`` exactly.
    """
    i0 = int(np.searchsorted(minutes, 0.0))
    i1 = int(np.searchsorted(minutes, window, side="left")) + 1
    t = np.broadcast_to(minutes[i0:i1], (values.shape[0], i1 - i0))
    return iauc_batch(t, values[:, i0:i1], values[:, i0], window=(0.0, window))


def _people(proto: Protocol, n: int, rng: np.random.Generator, gain: float) -> pd.DataFrame:
    params = sample_parameters(n, proto.population, rng)
    for col in ("kabs", "kmin", "kmax"):
        params[col] = params[col] * proto.absorption_speed
    sd = np.sqrt(np.log1p(proto.spu_response_cv**2))
    params["spu_gain"] = gain * np.exp(sd * rng.standard_normal(n) - sd**2 / 2)
    params.insert(0, "subject", [f"p{i + 1:02d}" for i in range(n)])
    return params


def _crossover_systems(
    proto: Protocol, params: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Two systems per person (control, spu) with day-to-day variation of SI and absorption."""
    n = len(params)
    systems = pd.concat([params, params], ignore_index=True)
    systems["condition"] = np.repeat(np.array(CONDITIONS, dtype=object), n)
    sd = np.sqrt(np.log1p(DAY_TO_DAY_CV**2))
    z = rng.standard_normal((2, 2 * n))
    for col in ("Vmx", "kp3"):
        systems[col] = systems[col] * np.exp(sd * z[0])
    for col in ("kabs", "kmin"):
        systems[col] = systems[col] * np.exp(sd * z[1])
    systems.loc[systems["condition"] == "control", "spu_gain"] = 0.0
    return systems


def _simulate_crossover(
    proto: Protocol, systems: pd.DataFrame, t_start: float, t_end: float, chunk: int = 600
) -> SimResult:
    m = len(systems)
    meals = [[(0.0, proto.carbs_g)]] * m
    bout = [(proto.spu_start_min, proto.spu_end_min)]
    spu = [bout if c == "spu" else [] for c in systems["condition"]]
    parts = [
        simulate(
            systems.iloc[a : a + chunk], t_start, t_end, meals[a : a + chunk], spu[a : a + chunk]
        )
        for a in range(0, m, chunk)
    ]
    if len(parts) == 1:
        return parts[0]
    return SimResult(
        parts[0].minutes,
        *(
            np.concatenate([getattr(p, k) for p in parts])
            for k in ("glucose", "insulin", "ra", "spu_effect")
        ),
        np.concatenate([p.states for p in parts], axis=1),
    )


def _gain(proto: Protocol) -> float:
    base = SPU_GAIN if proto.spu_gain is None else float(proto.spu_gain)
    return base * proto.spu_intensity


def population_truth(
    protocol: str | Protocol = "hamilton2022", n: int = 4000, seed: int = 0, **overrides
) -> dict[str, float]:
    """Noise-free SPU reduction of a very large simulated cohort (the estimand).

    Parameters
    ----------
    protocol : str or Protocol
        Crossover protocol name or object.
    n : int
        Number of people.
    seed : int
        Seed.
    **overrides
        Protocol fields to change.

    Returns
    -------
    dict
        ``glucose_iauc_reduction_pct``, ``insulin_iauc_reduction_pct`` (percent, the
        reduction of the mean iAUC, :func:`truth_reduction`), ``glucose_diff_60_120_mgdl``
        (mean over people of the control-minus-SPU mean glucose at the protocol's lab minutes
        from 60 to 120, mg/dL; NaN without such minutes) and ``n``.
    """
    proto = _apply(protocol, overrides)
    if proto.design != "crossover_ogtt":
        raise ValueError("population_truth needs a crossover protocol")
    rng = np.random.default_rng(seed)
    params = _people(proto, n, rng, _gain(proto))
    systems = _crossover_systems(proto, params, rng)
    res = _simulate_crossover(proto, systems, 0.0, proto.window_min)
    lab = np.asarray(proto.lab_minutes, dtype=float)
    lab = lab[(lab >= 60.0) & (lab <= 120.0) & (lab <= proto.window_min)]
    ctrl = (systems["condition"] == "control").to_numpy()
    if lab.size:
        cols = np.searchsorted(res.minutes, lab)
        diff = res.glucose[ctrl][:, cols].mean(axis=1) - res.glucose[~ctrl][:, cols].mean(axis=1)
        diff_mean = float(diff.mean())
    else:
        diff_mean = float("nan")
    truth = pd.DataFrame(
        {
            "condition": systems["condition"].to_numpy(),
            "glucose_iauc_mgdl_min": _iauc_rows(res.minutes, res.glucose, proto.window_min),
            "insulin_iauc_uU_ml_min": _iauc_rows(
                res.minutes, res.insulin / PMOL_PER_UU, proto.window_min
            ),
        }
    )
    out = truth_reduction(truth)
    out["glucose_diff_60_120_mgdl"] = diff_mean
    out["n"] = n
    return out


#: Soleus mass as a share of body mass (Hamilton et al. 2022: "~1% body mass", "the 1 kg soleus").
SOLEUS_FRACTION_OF_BW: float = 0.01

#: mg of glucose per mmol.
_MG_PER_MMOL_GLUCOSE: float = 180.156
#: mL of O2 (STPD) to oxidise 1 mmol of glucose completely (6 mol O2 per mol, 22.4 L/mol).
_ML_O2_PER_MMOL_GLUCOSE: float = 6 * 22.4


def spu_uptake_rate(systems: pd.DataFrame, res: SimResult) -> np.ndarray:
    """Extra glucose uptake of the SPU term, mg/min per person, shape ``(n, T)``.

    The SPU term of :mod:`~soleus_analysis.simulate.physiology` is
    ``Vm0 * E_spu * Gt / (Km0 + Gt)`` (mg/kg/min), times body weight.
    """
    gt = res.states[1]
    e = res.states[12]
    vm0 = systems["Vm0"].to_numpy(float)[:, None]
    km0 = systems["Km0"].to_numpy(float)[:, None]
    bw = systems["BW"].to_numpy(float)[:, None]
    return vm0 * e * gt / (km0 + gt) * bw


def implied_physiology(
    protocol: str | Protocol = "hamilton2022",
    n: int = 2000,
    seed: int = 0,
    soleus_fraction: float = SOLEUS_FRACTION_OF_BW,
    **overrides,
) -> dict[str, float]:
    """What the calibrated SPU effect and the population imply physically (noise-free cohort).

    Simulates ``n`` people of a crossover protocol (both conditions, from the drink to the window
    end) and reports, as means over people:

    - ``spu_uptake_mg_min``: the extra glucose uptake of the SPU term averaged over the SPU bout
      (mg/min per person), ``spu_uptake_peak_mg_min`` its per-person maximum;
    - ``spu_uptake_g``: the same integrated over the window, g, and ``spu_uptake_pct_of_drink``
      as % of the glucose drunk;
    - ``spu_uptake_mg_kg_muscle_min`` and ``spu_uptake_umol_kg_muscle_min``: the bout average per
      kg of soleus, taking the soleus as ``soleus_fraction`` of body mass;
    - ``spu_oxygen_ml_min``: O2 needed to oxidise that uptake completely (6 O2 per glucose), mL/min
      (an upper bound of what the soleus would have to consume if it burned it all);
    - ``control_fasting_mgdl``, ``control_1h_mgdl``, ``control_2h_mgdl`` (and its SD over people,
      ``control_2h_sd_mgdl``), ``control_2h_ge140_pct`` and ``control_2h_ge200_pct`` (% of people
      at or above the impaired-tolerance and diabetes thresholds), ``control_peak_mgdl``,
      ``spu_2h_mgdl``: plasma glucose of the sitting (control) and SPU tests;
    - ``control_rise_60_120_mgdl`` (mean of the 60, 90 and 120 min values minus t0) and
      ``diff_60_120_mgdl`` (control minus SPU over the same minutes, as Hamilton's "~50 mg/dL
      lower between 1 and 2 h");
    - ``fasting_insulin_uU_ml``, ``glucose_iauc_reduction_pct``, ``insulin_iauc_reduction_pct``.

    Parameters
    ----------
    protocol : str or Protocol
        A crossover protocol.
    n, seed : int
        Cohort size and seed.
    soleus_fraction : float
        Soleus mass / body mass.
    **overrides
        Protocol fields (e.g. ``population=...``, ``spu_gain=...``).

    Returns
    -------
    dict
        The quantities above (and ``n``, ``soleus_fraction``).
    """
    proto = _apply(protocol, overrides)
    if proto.design != "crossover_ogtt":
        raise ValueError("implied_physiology needs a crossover protocol")
    rng = np.random.default_rng(seed)
    params = _people(proto, n, rng, _gain(proto))
    systems = _crossover_systems(proto, params, rng)
    w = float(proto.window_min)
    res = _simulate_crossover(proto, systems, 0.0, max(w, 120.0))
    ctrl = (systems["condition"] == "control").to_numpy()
    spu = ~ctrl
    t = res.minutes
    rate = spu_uptake_rate(systems, res)[spu]
    bw = systems["BW"].to_numpy(float)[spu]
    in_bout = (t >= proto.spu_start_min) & (t <= min(proto.spu_end_min, w))
    in_win = t <= w
    bout_mean = rate[:, in_bout].mean(axis=1)
    total_g = np.trapezoid(rate[:, in_win], t[in_win], axis=1) / 1000.0
    per_kg = bout_mean / (soleus_fraction * bw)
    g = res.glucose
    at = {m: int(np.searchsorted(t, m)) for m in (0.0, 60.0, 90.0, 120.0)}
    g2 = g[ctrl, at[120.0]]
    span = [at[60.0], at[90.0], at[120.0]]
    rise = g[ctrl][:, span].mean(axis=1) - g[ctrl, at[0.0]]
    diff = g[ctrl][:, span].mean(axis=1) - g[spu][:, span].mean(axis=1)
    truth = pd.DataFrame(
        {
            "condition": systems["condition"].to_numpy(),
            "glucose_iauc_mgdl_min": _iauc_rows(t, g, w),
            "insulin_iauc_uU_ml_min": _iauc_rows(t, res.insulin / PMOL_PER_UU, w),
        }
    )
    red = truth_reduction(truth)
    return {
        "n": int(n),
        "soleus_fraction": float(soleus_fraction),
        "spu_uptake_mg_min": float(bout_mean.mean()),
        "spu_uptake_peak_mg_min": float(rate[:, in_win].max(axis=1).mean()),
        "spu_uptake_g": float(total_g.mean()),
        "spu_uptake_pct_of_drink": float(100.0 * total_g.mean() / proto.carbs_g),
        "spu_uptake_mg_kg_muscle_min": float(per_kg.mean()),
        "spu_uptake_umol_kg_muscle_min": float(1000.0 * per_kg.mean() / _MG_PER_MMOL_GLUCOSE),
        "spu_oxygen_ml_min": float(
            bout_mean.mean() / _MG_PER_MMOL_GLUCOSE * _ML_O2_PER_MMOL_GLUCOSE
        ),
        "control_fasting_mgdl": float(g[ctrl, at[0.0]].mean()),
        "control_1h_mgdl": float(g[ctrl, at[60.0]].mean()),
        "control_2h_mgdl": float(g2.mean()),
        "control_2h_sd_mgdl": float(g2.std(ddof=1)),
        "control_2h_ge140_pct": float(100.0 * np.mean(g2 >= 140.0)),
        "control_2h_ge200_pct": float(100.0 * np.mean(g2 >= 200.0)),
        "control_peak_mgdl": float(g[ctrl][:, in_win].max(axis=1).mean()),
        "spu_2h_mgdl": float(g[spu, at[120.0]].mean()),
        "control_rise_60_120_mgdl": float(rise.mean()),
        "diff_60_120_mgdl": float(diff.mean()),
        "fasting_insulin_uU_ml": float(res.insulin[ctrl, 0].mean() / PMOL_PER_UU),
        "glucose_iauc_reduction_pct": red["glucose_iauc_reduction_pct"],
        "insulin_iauc_reduction_pct": red["insulin_iauc_reduction_pct"],
    }


def simulate_study(
    protocol: str | Protocol = "hamilton2022", n: int | None = None, seed: int = 0, **overrides
) -> Study:
    """Simulate a study from a protocol.

    Parameters
    ----------
    protocol : str or Protocol
        A key of :data:`~soleus_analysis.simulate.protocols.PROTOCOLS` or a Protocol.
    n : int, optional
        Number of people (default: the protocol's).
    seed : int
        Seed of every random draw (people, days, assay noise, sensors).
    **overrides
        Protocol fields to change, e.g. ``carbs_g=50``, ``cgm="libre2"``, ``spu_gain=0``.

    Returns
    -------
    Study
    """
    proto = _apply(protocol, overrides)
    if n is not None:
        proto = dataclasses.replace(proto, n=int(n))
    rng = np.random.default_rng(seed)
    if proto.design == "freeliving":
        return _freeliving(proto, seed, rng)
    if proto.design != "crossover_ogtt":
        raise ValueError(f"unknown design {proto.design!r}")
    return _crossover(proto, seed, rng)


# Longer than most: one study recipe in the order a protocol runs it (people, visits, the
# glucose drink, lab samples, CGM, logs, truth); split, the order of draws from one generator
# (and so every bundled file) would be spread over several functions.
def _crossover(proto: Protocol, seed: int, rng: np.random.Generator) -> Study:
    n = proto.n
    params = _people(proto, n, rng, _gain(proto))
    systems = _crossover_systems(proto, params, rng)
    before = proto.cgm_before_min if proto.cgm else 30.0
    after = max(proto.cgm_after_min if proto.cgm else 0.0, proto.window_min)
    res = _simulate_crossover(proto, systems, -before, after)
    minutes = res.minutes
    subj = systems["subject"].to_numpy()
    cond = systems["condition"].to_numpy()

    # dates: person i's first test on start_date + i * stagger; order random or fixed
    first = pd.Timestamp(f"{proto.start_date} {proto.test_clock}") + pd.to_timedelta(
        np.arange(n) * proto.stagger_days, unit="D"
    )
    spu_first = rng.random(n) < 0.5 if proto.order == "random" else np.zeros(n, dtype=bool)
    second = first + pd.Timedelta(days=proto.days_between)
    ctrl_time = np.where(spu_first, second, first)
    spu_time = np.where(spu_first, first, second)
    test_time = pd.DatetimeIndex(np.concatenate([ctrl_time, spu_time]))

    # truth
    g_iauc = _iauc_rows(minutes, res.glucose, proto.window_min)
    i_iauc = _iauc_rows(minutes, res.insulin / PMOL_PER_UU, proto.window_min)
    truth = pd.DataFrame(
        {
            "subject": subj,
            "condition": cond,
            "meal_time": test_time,
            "carbs_g": proto.carbs_g,
            "glucose_iauc_mgdl_min": g_iauc,
            "insulin_iauc_uU_ml_min": i_iauc,
        }
    )

    # noise-free curves (long)
    m, t_len = res.glucose.shape
    true_curves = pd.DataFrame(
        {
            "subject": np.repeat(subj, t_len),
            "condition": np.repeat(cond, t_len),
            "minute": np.tile(minutes, m),
            "time": (
                np.repeat(test_time.to_numpy(), t_len)
                + pd.to_timedelta(np.tile(minutes, m), unit="min").to_numpy()
            ),
            "glucose_mgdl": res.glucose.ravel(),
            "insulin_uU_ml": (res.insulin / PMOL_PER_UU).ravel(),
        }
    )

    # venous lab values with assay noise
    lab = np.asarray(proto.lab_minutes, dtype=float)
    idx = np.searchsorted(minutes, lab)
    g_lab = res.glucose[:, idx] * (1 + proto.glucose_assay_cv * rng.standard_normal((m, len(lab))))
    i_lab = (res.insulin[:, idx] / PMOL_PER_UU) * (
        1 + proto.insulin_assay_cv * rng.standard_normal((m, len(lab)))
    )
    venous = pd.DataFrame(
        {
            "subject": np.repeat(subj, len(lab)),
            "condition": np.repeat(cond, len(lab)),
            "minute": np.tile(lab, m),
            "glucose_mgdl": np.round(g_lab.ravel(), 1),
            "insulin_uU_ml": np.round(np.maximum(i_lab.ravel(), 0.0), 1),
        }
    )
    venous = venous.sort_values(
        ["subject", "condition", "minute"], kind="stable", ignore_index=True
    )

    # events: the drink and the SPU bout of each test
    label = f"OGTT {proto.carbs_g:g} g glucose drink"
    meal_ev = pd.DataFrame(
        {
            "subject": subj,
            "time": test_time,
            "kind": "meal",
            "carbs_g": proto.carbs_g,
            "label": [f"{label} ({c})" for c in cond],
        }
    )
    is_spu = cond == "spu"
    spu_ev = pd.DataFrame(
        {
            "subject": subj[is_spu],
            "time": test_time[is_spu] + pd.Timedelta(minutes=proto.spu_start_min),
            "end": test_time[is_spu] + pd.Timedelta(minutes=proto.spu_end_min),
            "kind": "spu",
            "intensity": "low",
            "label": "soleus pushups (seated)",
        }
    )
    events = _finish_events(pd.concat([meal_ev, spu_ev], ignore_index=True), proto)

    cgm = _crossover_cgm(proto, params, res, systems, test_time, rng) if proto.cgm else None
    return Study(
        protocol=proto,
        seed=seed,
        params=params,
        venous=venous,
        cgm=cgm if cgm is not None else conform_readings(pd.DataFrame({"subject": []})),
        events=events,
        true_curves=true_curves,
        truth=truth.sort_values(["subject", "condition"], ignore_index=True),
        metadata={"synthetic": True, "spu_gain": _gain(proto)},
    )


def _finish_events(events: pd.DataFrame, proto: Protocol) -> pd.DataFrame:
    events["source"] = f"synthetic {proto.name}"
    events = events.sort_values(["subject", "time", "kind"], kind="stable", ignore_index=True)
    return conform_events(events)


def _transmitter_id(rng: np.random.Generator, generation: str) -> str:
    chars = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
    body = "".join(rng.choice(chars, 5))
    return ("8" + body) if generation.startswith("dexcom_g6") else body + "X"


def _crossover_cgm(
    proto: Protocol,
    params: pd.DataFrame,
    res: SimResult,
    systems: pd.DataFrame,
    test_time: pd.DatetimeIndex,
    rng: np.random.Generator,
) -> pd.DataFrame:
    spec = SENSORS[proto.cgm]
    n = len(params)
    step_s = int(round(spec.interval_min * 60))
    frames = []
    for i, subject in enumerate(params["subject"]):
        coefs = draw_sensor(spec, rng)
        tid = _transmitter_id(rng, proto.cgm)
        t_ctrl, t_spu = test_time[i], test_time[n + i]
        first_test = min(t_ctrl, t_spu)
        offset_s = int(rng.integers(0, step_s))
        sensor_start = (
            first_test
            - pd.Timedelta(days=proto.sensor_day_at_first_test)
            + pd.Timedelta(seconds=offset_s)
        )
        tx_start = sensor_start - pd.Timedelta(seconds=int(rng.integers(1, 60)) * 86400)
        for row, t0 in ((i, t_ctrl), (n + i, t_spu)):
            lo = t0 - pd.Timedelta(minutes=proto.cgm_before_min)
            hi = t0 + pd.Timedelta(minutes=proto.cgm_after_min)
            k0 = int(np.ceil((lo - sensor_start).total_seconds() / step_s))
            k1 = int(np.floor((hi - sensor_start).total_seconds() / step_s))
            k = np.arange(k0, k1 + 1)
            times = sensor_start + pd.to_timedelta(k * step_s, unit="s")
            rel_min = (times - t0).total_seconds().to_numpy() / 60.0
            wear = k * step_s / 86400.0
            r = sense(res.minutes, res.glucose[row], rel_min, wear, rng, spec, coefs)
            keep = r["kept"].to_numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "subject": subject,
                        "time": times[keep],
                        "glucose_mgdl": r["glucose_mgdl"].to_numpy()[keep],
                        "censored": r["censored"].to_numpy()[keep],
                        "source": f"synthetic {spec.name}",
                        "transmitter_time_s": (
                            (times[keep] - tx_start).total_seconds().to_numpy().astype(np.int64)
                        ),
                        "transmitter_id": tid,
                    }
                )
            )
    cgm = pd.concat(frames, ignore_index=True)
    cgm = cgm.sort_values(["subject", "time"], kind="stable", ignore_index=True)
    return conform_readings(cgm)


def _clock_minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def blocked_assignment(
    n_days: int,
    slots: list[str],
    block_size: int,
    spu_fraction: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The planner's randomisation: SPU within blocks of ``block_size`` meals per meal slot.

    Meals are in day order, ``slots`` within each day (meal ``i`` is slot ``i % len(slots)`` of
    day ``i // len(slots)``). Per slot, its 1st..``block_size``-th meals form block 1, the next
    ones block 2, ...; each block gets ``round(spu_fraction * block_size)`` SPU meals in random
    order (as :func:`soleus_analysis.app.plan.make_schedule`). An incomplete last block takes the
    first meals of a full block's random order, so each of its meals has SPU with probability
    ``spu_fraction``. Draws are made slot by slot, block by block.

    Returns
    -------
    with_spu : numpy.ndarray of bool
        Per meal, whether it gets SPU.
    block : numpy.ndarray of str
        Per meal, its block label ``"<slot>-<k>"`` (k from 1), as the planner's ``block``.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    k = len(slots)
    n = n_days * k
    idx = np.arange(n)
    slot_i, occurrence = idx % k, idx // k
    block_no = occurrence // block_size
    n_spu = int(round(spu_fraction * block_size))
    labels = np.array([True] * n_spu + [False] * (block_size - n_spu))
    with_spu = np.zeros(n, dtype=bool)
    for s in range(k):
        members = idx[slot_i == s]
        for b in np.unique(block_no[members]):
            m = members[block_no[members] == b]
            with_spu[m] = rng.permutation(labels)[: len(m)]
    block = np.array([f"{slots[s]}-{b + 1}" for s, b in zip(slot_i, block_no, strict=True)])
    return with_spu, block


def person_effect(truth: pd.DataFrame, value: str = "glucose") -> pd.DataFrame:
    """Each person's true SPU effect from the potential outcomes of their meals (free-living).

    The N-of-1 estimand is defined from the generating model, not from any estimator: every
    meal of the person is simulated noise-free under both conditions (same meal, same time,
    same history of earlier meals; only this meal's SPU bout present or absent), giving
    ``iAUC_spu`` and ``iAUC_control`` (plasma, baseline at the meal, over the window). The
    person's true effect is the geometric mean over *all* the person's meals of the ratio
    ``iAUC_spu / iAUC_control``:

        ``true_reduction_geomean_pct = 100 * (1 - exp(mean_j log(iAUC_spu_j / iAUC_control_j)))``

    which is the average causal effect on the log scale that a randomised comparison of the
    person's meals targets (``reduction_geomean_pct`` of :func:`soleus_analysis.compare.n_of_1`
    estimates it from the measured meals). Also given, descriptive only:
    ``true_ratio_of_means_pct = 100 * (1 - mean_j iAUC_spu_j / mean_j iAUC_control_j)``.

    Parameters
    ----------
    truth : pandas.DataFrame
        :attr:`Study.truth` of a free-living study: ``subject`` and the potential outcomes
        ``<value>_iauc_control_*`` and ``<value>_iauc_spu_*``.
    value : {"glucose", "insulin"}
        Which response.

    Returns
    -------
    pandas.DataFrame
        One row per person: ``subject``, ``n_meals``, ``true_reduction_geomean_pct``,
        ``true_ratio_of_means_pct`` (%).
    """
    unit = {"glucose": "mgdl_min", "insulin": "uU_ml_min"}[value]
    c, t = f"{value}_iauc_control_{unit}", f"{value}_iauc_spu_{unit}"
    if c not in truth.columns or t not in truth.columns:
        raise ValueError(f"person_effect needs the potential outcomes {c!r} and {t!r}")
    y0 = truth[c].to_numpy(float)
    y1 = truth[t].to_numpy(float)
    tiny = 1e-9  # a meal without any excursion in either condition has ratio 1
    log_ratio = np.log(np.maximum(y1, tiny) / np.maximum(y0, tiny))
    frame = pd.DataFrame(
        {"subject": truth["subject"].to_numpy(), "lr": log_ratio, "y0": y0, "y1": y1}
    )
    g = frame.groupby("subject", sort=False)
    out = g.agg(n_meals=("lr", "size"), mlr=("lr", "mean"), m0=("y0", "mean"), m1=("y1", "mean"))
    return pd.DataFrame(
        {
            "subject": out.index.to_numpy(),
            "n_meals": out["n_meals"].to_numpy(int),
            "true_reduction_geomean_pct": 100.0 * (1.0 - np.exp(out["mlr"].to_numpy(float))),
            "true_ratio_of_means_pct": 100.0 * (1.0 - (out["m1"] / out["m0"]).to_numpy(float)),
        }
    )


# Longer than most: the free-living recipe (days, meals, randomised SPU, CGM, logs, truth) in
# the order its random draws are made; see _crossover.
def _freeliving(proto: Protocol, seed: int, rng: np.random.Generator) -> Study:
    gain = _gain(proto)
    params = _people(proto, proto.n, rng, gain)
    day0 = pd.Timestamp(proto.start_date)
    slots = [m[0] for m in proto.meals]
    # the randomisation has its own stream (as a planner's would): how meals are assigned does
    # not change the people, meals and sensors a seed draws
    assign_rng = np.random.default_rng([int(seed), 20260101])
    truth_rows, curve_frames, event_frames, cgm_frames = [], [], [], []
    for i, subject in enumerate(params["subject"]):
        rows = []
        for day in range(proto.days):
            for name, lo, hi, c_lo, c_hi in proto.meals:
                t = day * 1440 + int(rng.integers(_clock_minutes(lo), _clock_minutes(hi) + 1))
                carbs = float(5 * np.round(rng.uniform(c_lo, c_hi) / 5))
                rows.append((t, carbs, name))
        with_spu, block = blocked_assignment(
            proto.days, slots, proto.block_size, proto.spu_fraction, assign_rng
        )
        meals = [(float(t), carbs) for t, carbs, _ in rows]
        starts = np.array([t for t, _, _ in rows], dtype=float)
        bouts = [(t + proto.spu_start_min, t + proto.spu_end_min) for t in starts]
        spu_bouts = [b for b, s in zip(bouts, with_spu, strict=True) if s]
        minutes, g, ins, g_flip, i_flip = _freeliving_curves(
            params.iloc[[i]], proto, meals, bouts, with_spu
        )
        times = day0 + pd.to_timedelta(minutes, unit="min")
        curve_frames.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "condition": None,
                    "minute": minutes,
                    "time": times,
                    "glucose_mgdl": g,
                    "insulin_uU_ml": ins,
                }
            )
        )
        # truth per meal: windows relative to each meal, factual and with this meal's SPU flipped
        rel = np.arange(0.0, proto.window_min + 0.5)
        idx = (starts[:, None] + rel[None, :]).astype(int)
        idx = np.clip(idx, 0, len(minutes) - 1)
        g_iauc = _iauc_rows(rel, g[idx], proto.window_min)
        i_iauc = _iauc_rows(rel, ins[idx], proto.window_min)
        rows_j = np.arange(len(starts))[:, None]
        g_other = _iauc_rows(rel, g_flip[rows_j, idx], proto.window_min)
        i_other = _iauc_rows(rel, i_flip[rows_j, idx], proto.window_min)
        cond = np.where(with_spu, "spu", "control")
        meal_times = day0 + pd.to_timedelta(starts, unit="min")
        truth_rows.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "condition": cond,
                    "meal_time": meal_times,
                    "carbs_g": [c for _, c, _ in rows],
                    "block": block,
                    "glucose_iauc_mgdl_min": g_iauc,
                    "insulin_iauc_uU_ml_min": i_iauc,
                    "glucose_iauc_control_mgdl_min": np.where(with_spu, g_other, g_iauc),
                    "glucose_iauc_spu_mgdl_min": np.where(with_spu, g_iauc, g_other),
                    "insulin_iauc_control_uU_ml_min": np.where(with_spu, i_other, i_iauc),
                    "insulin_iauc_spu_uU_ml_min": np.where(with_spu, i_iauc, i_other),
                }
            )
        )
        event_frames.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "time": meal_times,
                    "kind": "meal",
                    "carbs_g": [c for _, c, _ in rows],
                    "label": [nm for _, _, nm in rows],
                    "block": block,
                }
            )
        )
        event_frames.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "time": day0 + pd.to_timedelta([a for a, _ in spu_bouts], unit="min"),
                    "end": day0 + pd.to_timedelta([b for _, b in spu_bouts], unit="min"),
                    "kind": "spu",
                    "intensity": "low",
                    "label": "soleus pushups (seated)",
                    "block": block[with_spu],
                }
            )
        )
        if proto.cgm:
            cgm_frames.append(_freeliving_cgm(proto, subject, minutes, g, day0, rng))
    cgm = (
        conform_readings(pd.concat(cgm_frames, ignore_index=True))
        if cgm_frames
        else conform_readings(pd.DataFrame({"subject": []}))
    )
    truth = pd.concat(truth_rows, ignore_index=True)
    return Study(
        protocol=proto,
        seed=seed,
        params=params,
        venous=pd.DataFrame(
            columns=["subject", "condition", "minute", "glucose_mgdl", "insulin_uU_ml"]
        ),
        cgm=cgm,
        events=_finish_events(pd.concat(event_frames, ignore_index=True), proto),
        true_curves=pd.concat(curve_frames, ignore_index=True),
        truth=truth,
        metadata={"synthetic": True, "spu_gain": gain},
    )


#: Free-living days are simulated in parallel, each from basal at this many minutes before its
#: midnight (so the previous evening's dinner is included); the tail of earlier meals is ignored.
FREELIVING_LEAD_MIN: float = 600.0


def _freeliving_curves(
    person: pd.DataFrame,
    proto: Protocol,
    meals: list[tuple[float, float]],
    bouts: list[tuple[float, float]],
    with_spu: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free glucose (mg/dL) and insulin (µU/mL) of one person over ``proto.days`` days.

    Each day is one system of a stacked simulation running from ``-FREELIVING_LEAD_MIN`` to
    24:00 with that day's meals and SPU bouts plus those of the lead-in (previous evening); the
    day curves are then joined (minute 0 = first midnight). ``bouts[j]`` is meal ``j``'s SPU
    bout, done when ``with_spu[j]``.

    For the potential outcomes, every meal ``j`` also gets its own system: meal ``j``'s day with
    everything as it happened except meal ``j``'s SPU, flipped (removed if done, added if not).
    Returns ``minutes, glucose, insulin`` (factual, joined) and ``glucose_flip, insulin_flip``:
    shape ``(n_meals, len(minutes))``, the joined curve with meal ``j``'s day replaced by its
    flipped system (only meal ``j``'s window of each row is used).
    """
    days = proto.days
    lead = FREELIVING_LEAD_MIN
    n_meals = len(meals)
    starts = np.array([t for t, _ in meals], dtype=float)
    meal_day = np.floor(starts / 1440.0).astype(int)

    def day_inputs(d: int, done: np.ndarray):
        lo, hi = d * 1440.0 - lead, (d + 1) * 1440.0
        ms = [(t - d * 1440.0, c) for t, c in meals if lo <= t < hi]
        sp = [
            (a - d * 1440.0, b - d * 1440.0)
            for (a, b), s in zip(bouts, done, strict=True)
            if s and lo <= a < hi
        ]
        return ms, sp

    day_meals, day_spu = [], []
    for d in range(days):
        ms, sp = day_inputs(d, with_spu)
        day_meals.append(ms)
        day_spu.append(sp)
    for j in range(n_meals):
        flipped = with_spu.copy()
        flipped[j] = not flipped[j]
        ms, sp = day_inputs(int(meal_day[j]), flipped)
        day_meals.append(ms)
        day_spu.append(sp)
    systems = pd.concat([person] * (days + n_meals), ignore_index=True)
    res = simulate(systems, -lead, 1440.0, day_meals, day_spu)
    keep = res.minutes >= 0
    glu = res.glucose[:, keep]
    ins_all = res.insulin[:, keep] / PMOL_PER_UU

    def joined(rows_g: np.ndarray, rows_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.append(rows_g[:, :-1].ravel(), rows_g[-1, -1])
        i = np.append(rows_i[:, :-1].ravel(), rows_i[-1, -1])
        return g, i

    g, ins = joined(glu[:days], ins_all[:days])
    per_day = glu.shape[1] - 1
    g_flip = np.repeat(g[None, :], n_meals, axis=0)
    i_flip = np.repeat(ins[None, :], n_meals, axis=0)
    for j in range(n_meals):
        d = int(meal_day[j])
        a = d * per_day
        g_flip[j, a : a + per_day + 1] = glu[days + j]
        i_flip[j, a : a + per_day + 1] = ins_all[days + j]
    minutes = np.arange(len(g), dtype=float)
    return minutes, g, ins, g_flip, i_flip


def _freeliving_cgm(
    proto: Protocol,
    subject: str,
    minutes: np.ndarray,
    glucose: np.ndarray,
    day0: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Consecutive sensors over the whole span, each with its own coefficients and id."""
    spec = SENSORS[proto.cgm]
    step = spec.interval_min
    warmup = 30.0 if proto.cgm == "dexcom_g7" else 60.0
    frames = []
    start = -proto.sensor_day_at_first_test * 1440.0 + float(rng.integers(0, int(step * 60))) / 60
    end_all = minutes[-1]
    while start < end_all:
        coefs = draw_sensor(spec, rng)
        tid = _transmitter_id(rng, proto.cgm)
        life = spec.wear_days * 1440.0
        k = np.arange(0, int(life // step) + 1)
        t = start + warmup + k * step
        ok = (t >= minutes[0]) & (t <= end_all) & (t < start + life)
        t = t[ok]
        if len(t):
            wear = (t - start) / 1440.0
            r = sense(minutes, glucose, t, wear, rng, spec, coefs)
            keep = r["kept"].to_numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "subject": subject,
                        "time": day0 + pd.to_timedelta(np.round(t[keep] * 60), unit="s"),
                        "glucose_mgdl": r["glucose_mgdl"].to_numpy()[keep],
                        "censored": r["censored"].to_numpy()[keep],
                        "source": f"synthetic {spec.name}",
                        "transmitter_time_s": np.round((t[keep] - start) * 60).astype(np.int64),
                        "transmitter_id": tid,
                    }
                )
            )
        start += life
    return pd.concat(frames, ignore_index=True)
