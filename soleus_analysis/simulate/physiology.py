"""Dalla Man 2007 meal model with between-person variability and a soleus-pushup uptake term.

The model (Dalla Man, Rizza & Cobelli 2007, IEEE TBME 54:1740), per kg body weight:

Glucose
    ``dGp/dt = EGP + Ra - Uii - E_renal - k1 Gp + k2 Gt``;
    ``dGt/dt = -Uid + k1 Gp - k2 Gt``;  plasma glucose ``G = Gp / VG`` (mg/dL).
Utilisation
    ``Uid = (Vm0 (1 + E_spu) + Vmx X) Gt / (Km0 + Gt)``;  ``dX/dt = -p2U X + p2U (I - Ib)``.
Production
    ``EGP = max(0, kp1 - kp2 Gp - kp3 Id - kp4 Ipo) + kcr max(Gb - G, 0)``; delayed insulin
    ``dI1/dt = -ki (I1 - I)``, ``dId/dt = -ki (Id - I1)``. The last term is an addition to
    Dalla Man 2007 (see below).
Counter-regulation
    Dalla Man 2007 has no glucagon, so after a meal the slowly decaying delayed insulin ``Id``
    (mean delay ``2/ki`` ~ 250 min) keeps EGP suppressed while glucose is already back, and
    people with high SI or fast gastric emptying undershoot basal by 20-30 mg/dL for hours
    (a simulated healthy self-tracker spent 26% of the time below 70 mg/dL, where healthy adults
    spend ~1%, Shah et al. 2019). The UVA/Padova 2014 model (Dalla Man et al. 2014, J Diabetes
    Sci Technol 8:26) adds glucagon secretion that rises as glucose falls below a threshold and
    stimulates EGP. Here a static stand-in: extra EGP ``kcr (Gb - G)`` below basal glucose,
    ``kcr = 0.05`` mg/kg/min per mg/dL (10 mg/dL below basal raises EGP by 0.5 mg/kg/min, about
    a quarter of basal EGP). ``kcr`` is an assumption, chosen to keep the post-meal undershoot
    within a few mg/dL; it is zero at and above basal, so the basal state is unchanged.
Renal excretion
    ``E_renal = ke1 (Gp - ke2)`` when ``Gp > ke2``.
Oral absorption
    ``dQsto1/dt = -kmax Qsto1`` (+ meal dose as an impulse),
    ``dQsto2/dt = -kempt Qsto2 + kmax Qsto1``, ``dQgut/dt = -kabs Qgut + kempt Qsto2``,
    ``Ra = f kabs Qgut / BW``; ``kempt`` varies between ``kmin`` and ``kmax`` with the stomach
    content (tanh form with ``b``, ``d`` and the last dose ``D``).
Insulin kinetics
    ``dIl/dt = -(m1 + m3) Il + m2 Ip + S``; ``dIp/dt = -(m2 + m4) Ip + m1 Il``; ``I = Ip / VI``
    (pmol/L); ``m3 = HE m1 / (1 - HE)`` with hepatic extraction ``HE = m6 - m5 S`` falling as
    secretion rises (``m6`` set so that ``HE = HEb = 0.6`` at basal).
Secretion
    ``S = gamma Ipo``; ``dIpo/dt = -gamma Ipo + Spo``;
    ``Spo = Y + K max(dG/dt, 0) + Sb``; ``dY/dt = -alpha [Y - beta (G - Gb)]``
    (with Dalla Man's floor ``Y >= -Sb``).
Soleus pushups
    ``E_spu`` is a dimensionless multiplier of insulin-independent uptake ``Vm0``. It follows the
    command ``u(t) * spu_gain`` (``u`` = 1 while pushing up, else 0) with first-order time
    constants :data:`SPU_TAU_ON_MIN` (rising) and :data:`SPU_TAU_OFF_MIN` (falling). The size
    ``spu_gain`` is set once in :mod:`soleus_analysis.simulate.constants`.

Each person starts at the basal steady state: ``Gb`` and ``Ib`` are drawn and ``kp1``, ``Sb``,
the basal tissue glucose and the insulin masses follow from setting every derivative to zero.
All people (and conditions) are integrated together as one stacked system with a vectorised
right-hand side (``scipy.integrate.solve_ivp``), piecewise between meal and SPU switch times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

#: Fixed (population) parameters of the Dalla Man 2007 normal subject. Units per kg body weight.
FIXED: dict[str, float] = {
    "VG": 1.88,  # dL/kg
    "k1": 0.065,  # 1/min
    "k2": 0.079,  # 1/min
    "Uii": 1.0,  # mg/kg/min (brain, insulin independent)
    "Km0": 225.59,  # mg/kg
    "kp4": 0.0618,  # mg/kg/min per pmol/kg
    "ki": 0.0079,  # 1/min
    "f": 0.90,  # fraction of the dose absorbed
    "b": 0.82,
    "d": 0.010,
    "VI": 0.05,  # L/kg
    "m1": 0.190,  # 1/min
    "m2": 0.484,  # 1/min
    "m4": 0.194,  # 1/min
    "HEb": 0.6,  # hepatic insulin extraction at basal
    "m5": 0.0304,  # min·kg/pmol: fall of hepatic extraction with secretion
    "gamma": 0.5,  # 1/min
    "ke1": 0.0005,  # 1/min
    "ke2": 339.0,  # mg/kg
    # Counter-regulation (not in Dalla Man 2007): extra EGP kcr * max(Gb - G, 0), mg/kg/min per
    # mg/dL. See COUNTERREGULATION below.
    "kcr": 0.05,
}

#: Time constants (min) of the SPU uptake switching on and off. Assumed: the soleus raises its
#: oxidative metabolism within minutes of starting and it decays over ~10 min after stopping.
SPU_TAU_ON_MIN: float = 3.0
SPU_TAU_OFF_MIN: float = 10.0

STATE_NAMES: tuple[str, ...] = (
    "Gp",
    "Gt",
    "Il",
    "Ip",
    "Ipo",
    "Y",
    "X",
    "I1",
    "Id",
    "Qsto1",
    "Qsto2",
    "Qgut",
    "E",
)
_NS = len(STATE_NAMES)


@dataclass(frozen=True)
class Population:
    """Between-person distribution of model parameters (lognormal factors around Dalla Man values).

    Attributes
    ----------
    name : str
        Population label.
    si_median : float
        Median multiplier of insulin sensitivity (``Vmx`` and ``kp3`` together), 1 = Dalla Man normal.
    si_cv : float
        Coefficient of variation of insulin sensitivity (Denti 2010: ~48%).
    p2_cv : float
        CV of ``p2U`` (Denti 2010: ~38%), correlated with SI by ``si_p2_corr``.
    si_p2_corr : float
        Correlation of log SI and log p2U (assumed 0.7; Denti 2010 report a strong correlation).
    sg_cv : float
        CV of glucose effectiveness (``Vm0`` and ``kp2`` together; Denti 2010: ~21%).
    beta_cell_median : float
        Median multiplier of the beta-cell responsivities ``K`` and ``beta``.
    beta_cell_cv : float
        CV of ``K``, ``beta`` and ``alpha`` (independent, assumed 30%).
    absorption_cv : float
        CV of ``kabs`` and ``kmin`` (assumed 25%).
    gb_mean, gb_sd, gb_low, gb_high : float
        Basal plasma glucose, mg/dL: normal, truncated to ``[gb_low, gb_high]``.
    ib_median : float
        Median basal plasma insulin, pmol/L (scaled by ``SI ** -0.5``, CV ``ib_cv``).
    ib_cv : float
        Residual CV of basal insulin.
    bw_mean, bw_sd : float
        Body weight, kg (normal, truncated to 45-160 kg).
    k_median : float or None
        Median multiplier of ``K`` alone (the early, glucose-rate-driven secretion); None = the
        same as ``beta_cell_median``. Lets a population have a weaker early than late response.
    """

    name: str
    si_median: float
    si_cv: float
    p2_cv: float
    si_p2_corr: float
    sg_cv: float
    beta_cell_median: float
    beta_cell_cv: float
    absorption_cv: float
    gb_mean: float
    gb_sd: float
    gb_low: float
    gb_high: float
    ib_median: float
    ib_cv: float
    bw_mean: float
    bw_sd: float
    k_median: float | None = None


#: Populations.
#:
#: ``healthy``: a healthy, normoglycaemic adult without diabetes (the free-living self-tracker).
#: Dalla Man 2007 normal-subject values (SI, beta-cell multipliers 1); fasting plasma glucose
#: 93 +/- 5 mg/dL truncated to 85-99 (normal fasting glucose; a 24-h CGM mean of ~99 mg/dL and
#: ~1% of time below 70 in healthy adults, Shah et al. 2019, J Clin Endocrinol Metab 104:4356).
#:
#: ``healthy_sedentary``: the "sedentary, unfit volunteers" of Hamilton et al. 2022 (used by the
#: ``hamilton2022`` protocol). They were not selected for prediabetes or diabetes (the replication
#: in prediabetes is Elek et al. 2025), so they are simulated with normal glucose tolerance: the
#: Dalla Man 2007 normal subject (insulin sensitivity and beta-cell multipliers 1), fasting
#: glucose 92 +/- 6 mg/dL truncated to 80-99, fasting insulin median 30 pmol/L, body weight
#: 80 +/- 13 kg. With the ``hamilton2022`` drink (absorption 1.25 x Dalla Man's mixed meal) the
#: noise-free cohort's mean 2-h glucose is ~130 mg/dL (normal < 140 mg/dL; ADA/WHO: 140-199 is
#: impaired tolerance) with a third of people at or above 140, as between-person variability
#: makes it (see :func:`soleus_analysis.simulate.implied_physiology`).
#: Until 2026 this population was insulin resistant with a blunted early insulin response
#: (now ``sedentary_igt``), chosen to match the published ~50 mg/dL difference at 1-2 h; it had a
#: mean 2-h glucose of ~186 mg/dL (impaired tolerance), which the description of the volunteers
#: does not support. With normal tolerance the sitting excursion is smaller, so the same relative
#: reduction gives a smaller absolute difference than the published ~50 mg/dL.
#:
#: ``sedentary_igt``: the former ``healthy_sedentary`` (SI 0.27, K 0.43, beta 0.60 x normal,
#: fasting insulin 50 pmol/L; 2-h glucose ~186 mg/dL), kept to show what the published absolute
#: difference would require.
#:
#: ``prediabetes``: adults with prediabetes (Elek et al. 2025): low SI, fasting glucose 100-125
#: mg/dL, weaker beta-cell response.
POPULATIONS: dict[str, Population] = {
    "healthy": Population(
        name="healthy",
        si_median=1.0,
        si_cv=0.48,
        p2_cv=0.38,
        si_p2_corr=0.7,
        sg_cv=0.21,
        beta_cell_median=1.0,
        beta_cell_cv=0.30,
        absorption_cv=0.25,
        gb_mean=93.0,
        gb_sd=5.0,
        gb_low=85.0,
        gb_high=99.0,
        ib_median=30.0,
        ib_cv=0.30,
        bw_mean=75.0,
        bw_sd=12.0,
    ),
    "healthy_sedentary": Population(
        name="healthy_sedentary",
        si_median=1.0,
        si_cv=0.48,
        p2_cv=0.38,
        si_p2_corr=0.7,
        sg_cv=0.21,
        beta_cell_median=1.0,
        beta_cell_cv=0.30,
        absorption_cv=0.25,
        gb_mean=92.0,
        gb_sd=6.0,
        gb_low=80.0,
        gb_high=99.0,
        ib_median=30.0,
        ib_cv=0.30,
        bw_mean=80.0,
        bw_sd=13.0,
    ),
    "sedentary_igt": Population(
        name="sedentary_igt",
        si_median=0.27,
        si_cv=0.48,
        p2_cv=0.38,
        si_p2_corr=0.7,
        sg_cv=0.21,
        beta_cell_median=0.60,
        beta_cell_cv=0.30,
        absorption_cv=0.25,
        gb_mean=92.0,
        gb_sd=6.0,
        gb_low=80.0,
        gb_high=99.0,
        ib_median=50.0,
        ib_cv=0.30,
        bw_mean=80.0,
        bw_sd=13.0,
        k_median=0.43,
    ),
    "prediabetes": Population(
        name="prediabetes",
        si_median=0.45,
        si_cv=0.48,
        p2_cv=0.38,
        si_p2_corr=0.7,
        sg_cv=0.21,
        beta_cell_median=0.6,
        beta_cell_cv=0.30,
        absorption_cv=0.25,
        gb_mean=106.0,
        gb_sd=5.0,
        gb_low=100.0,
        gb_high=125.0,
        ib_median=50.0,
        ib_cv=0.30,
        bw_mean=88.0,
        bw_sd=15.0,
    ),
}


def _lognormal(rng: np.random.Generator, median: float, cv: float, z: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.log1p(cv**2))
    return median * np.exp(sd * z)


def sample_parameters(
    n: int, population: str | Population = "healthy_sedentary", rng: np.random.Generator = None
) -> pd.DataFrame:
    """Draw ``n`` people's model parameters.

    Parameters
    ----------
    n : int
        Number of people.
    population : str or Population
        A key of :data:`POPULATIONS` or a :class:`Population`.
    rng : numpy.random.Generator
        Source of randomness (required for reproducibility; a fresh unseeded one if omitted).

    Returns
    -------
    pandas.DataFrame
        One row per person: ``BW`` (kg), ``Gb`` (mg/dL), ``Ib`` (pmol/L), ``Vm0``, ``Vmx``,
        ``kp2``, ``kp3``, ``p2U``, ``K``, ``alpha``, ``beta``, ``kabs``, ``kmin``, ``kmax`` and
        the multipliers ``si`` and ``sg`` (1 = Dalla Man normal subject), plus every
        :data:`FIXED` value.
    """
    pop = POPULATIONS[population] if isinstance(population, str) else population
    rng = rng if rng is not None else np.random.default_rng()
    z = rng.standard_normal((10, n))
    k_med = pop.beta_cell_median if pop.k_median is None else pop.k_median
    si = _lognormal(rng, pop.si_median, pop.si_cv, z[0])
    z_p2 = pop.si_p2_corr * z[0] + np.sqrt(1.0 - pop.si_p2_corr**2) * z[1]
    sg = _lognormal(rng, 1.0, pop.sg_cv, z[2])
    gb = np.clip(pop.gb_mean + pop.gb_sd * z[3], pop.gb_low, pop.gb_high)
    ib = _lognormal(rng, pop.ib_median, pop.ib_cv, z[4]) * (si / pop.si_median) ** -0.5
    bw = np.clip(pop.bw_mean + pop.bw_sd * z[5], 45.0, 160.0)
    out = pd.DataFrame(
        {
            "BW": bw,
            "Gb": gb,
            "Ib": ib,
            "si": si,
            "sg": sg,
            "Vm0": 2.50 * sg,
            "kp2": 0.0021 * sg,
            "Vmx": 0.047 * si,
            "kp3": 0.009 * si,
            "p2U": _lognormal(rng, 0.0331, pop.p2_cv, z_p2),
            "K": _lognormal(rng, 2.30 * k_med, pop.beta_cell_cv, z[6]),
            "beta": _lognormal(rng, 0.11 * pop.beta_cell_median, pop.beta_cell_cv, z[7]),
            "alpha": _lognormal(rng, 0.050, pop.beta_cell_cv, z[8]),
            "kabs": _lognormal(rng, 0.057, pop.absorption_cv, z[9]),
            "kmin": 0.0080 * np.exp(0.2 * rng.standard_normal(n)),
            "kmax": np.full(n, 0.0558),
        }
    )
    for key, value in FIXED.items():
        out[key] = value
    return out


def _arrays(params: pd.DataFrame) -> dict[str, np.ndarray]:
    num = params.select_dtypes(include="number")
    p = {c: num[c].to_numpy(dtype=float) for c in num.columns}
    for key, value in FIXED.items():
        p.setdefault(key, np.full(len(params), value))
    p.setdefault("spu_gain", np.zeros(len(params)))
    return p


def basal_state(params: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Steady state at basal glucose ``Gb`` and insulin ``Ib`` and the derived constants.

    Parameters
    ----------
    params : pandas.DataFrame
        As from :func:`sample_parameters` (one row per system).

    Returns
    -------
    state : numpy.ndarray
        Shape ``(13, n)`` in :data:`STATE_NAMES` order (masses per kg: mg/kg, pmol/kg).
    derived : dict
        ``kp1`` (mg/kg/min), ``Sb`` (pmol/kg/min), ``m3`` (1/min), ``EGPb`` (mg/kg/min),
        ``Gtb`` (mg/kg), and the other parameters as arrays.
    """
    p = _arrays(params)
    gpb = p["Gb"] * p["VG"]
    # dGt/dt = 0: Vm0 Gt/(Km0+Gt) = k1 Gpb - k2 Gt  ->  quadratic in Gt, positive root.
    qa = p["k2"]
    qb = p["k2"] * p["Km0"] + p["Vm0"] - p["k1"] * gpb
    qc = -p["k1"] * gpb * p["Km0"]
    gtb = (-qb + np.sqrt(qb**2 - 4 * qa * qc)) / (2 * qa)
    uidb = p["Vm0"] * gtb / (p["Km0"] + gtb)
    renal_b = p["ke1"] * np.maximum(gpb - p["ke2"], 0.0)
    egpb = p["Uii"] + uidb + renal_b
    m3 = p["HEb"] * p["m1"] / (1.0 - p["HEb"])
    ipb = p["Ib"] * p["VI"]
    ilb = (p["m2"] + p["m4"]) * ipb / p["m1"]
    sb = (p["m1"] + m3) * ilb - p["m2"] * ipb
    ipob = sb / p["gamma"]
    kp1 = egpb + p["kp2"] * gpb + p["kp3"] * p["Ib"] + p["kp4"] * ipob
    n = len(gpb)
    state = np.zeros((_NS, n))
    state[0], state[1], state[2], state[3], state[4] = gpb, gtb, ilb, ipb, ipob
    state[7] = p["Ib"]
    state[8] = p["Ib"]
    m6 = p["HEb"] + p["m5"] * sb
    p.update({"kp1": kp1, "Sb": sb, "m3": m3, "m6": m6, "EGPb": egpb, "Gtb": gtb})
    return state, p


def _rhs_factory(p: dict[str, np.ndarray], dose: np.ndarray, u: np.ndarray):
    """Vectorised right-hand side for a segment with fixed last dose ``dose`` (mg) and command u."""
    n = len(dose)
    safe_dose = np.where(dose > 0, dose, 1.0)
    aa = 5.0 / (2.0 * safe_dose * (1.0 - p["b"]))
    cc = 5.0 / (2.0 * safe_dose * p["d"])
    target = u * p["spu_gain"]
    km0, vm0, vmx, vg = p["Km0"], p["Vm0"], p["Vmx"], p["VG"]
    k1, k2 = p["k1"], p["k2"]
    kmin, kmax, kabs = p["kmin"], p["kmax"], p["kabs"]
    has_dose = dose > 0

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        gp, gt, il, ip, ipo, yy, x, i1, idl, q1, q2, qg, e = y.reshape(_NS, n)
        g = gp / vg
        ins = ip / p["VI"]
        qsto = q1 + q2
        kempt = kmin + 0.5 * (kmax - kmin) * (
            np.tanh(aa * (qsto - p["b"] * dose)) - np.tanh(cc * (qsto - p["d"] * dose)) + 2.0
        )
        kempt = np.where(has_dose, kempt, kmax)
        ra = p["f"] * kabs * qg / p["BW"]
        egp = np.maximum(p["kp1"] - p["kp2"] * gp - p["kp3"] * idl - p["kp4"] * ipo, 0.0)
        egp = egp + p["kcr"] * np.maximum(p["Gb"] - g, 0.0)
        uid = (vm0 * (1.0 + e) + vmx * x) * gt / (km0 + gt)
        renal = p["ke1"] * np.maximum(gp - p["ke2"], 0.0)
        dgp = egp + ra - p["Uii"] - renal - k1 * gp + k2 * gt
        dgt = -uid + k1 * gp - k2 * gt
        dg = dgp / vg
        sb = p["Sb"]
        spo = np.maximum(yy + p["K"] * np.maximum(dg, 0.0) + sb, 0.0)
        drive = p["beta"] * (g - p["Gb"])
        dy = np.where(drive >= -sb, -p["alpha"] * (yy - drive), -p["alpha"] * (yy + sb))
        s = p["gamma"] * ipo
        he = np.clip(p["m6"] - p["m5"] * s, 0.0, 0.95)
        m3 = he * p["m1"] / (1.0 - he)
        dil = -(p["m1"] + m3) * il + p["m2"] * ip + s
        dip = -(p["m2"] + p["m4"]) * ip + p["m1"] * il
        dipo = -p["gamma"] * ipo + spo
        dx = -p["p2U"] * x + p["p2U"] * (ins - p["Ib"])
        di1 = -p["ki"] * (i1 - ins)
        did = -p["ki"] * (idl - i1)
        dq1 = -kmax * q1
        dq2 = -kempt * q2 + kmax * q1
        dqg = -kabs * qg + kempt * q2
        tau = np.where(target > e, SPU_TAU_ON_MIN, SPU_TAU_OFF_MIN)
        de = (target - e) / tau
        return np.concatenate([dgp, dgt, dil, dip, dipo, dy, dx, di1, did, dq1, dq2, dqg, de])

    return rhs


@dataclass
class SimResult:
    """Noise-free output of :func:`simulate` on a 1-min grid.

    Attributes
    ----------
    minutes : numpy.ndarray
        Output times, min (shape ``(T,)``).
    glucose : numpy.ndarray
        Plasma glucose, mg/dL, shape ``(n, T)``.
    insulin : numpy.ndarray
        Plasma insulin, pmol/L, shape ``(n, T)``.
    ra : numpy.ndarray
        Rate of glucose appearance from the gut, mg/kg/min, shape ``(n, T)``.
    spu_effect : numpy.ndarray
        ``E_spu`` (dimensionless multiplier of ``Vm0``), shape ``(n, T)``.
    states : numpy.ndarray
        All states, shape ``(13, n, T)``.
    """

    minutes: np.ndarray
    glucose: np.ndarray
    insulin: np.ndarray
    ra: np.ndarray
    spu_effect: np.ndarray
    states: np.ndarray


def simulate(
    params: pd.DataFrame,
    t_start: float,
    t_end: float,
    meals: Sequence[Sequence[tuple[float, float]]] | None = None,
    spu: Sequence[Sequence[tuple[float, float]]] | None = None,
    dt: float = 1.0,
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> SimResult:
    """Integrate the stacked model of all systems from the basal steady state.

    Parameters
    ----------
    params : pandas.DataFrame
        One row per system (person x condition), as from :func:`sample_parameters`, optionally
        with ``spu_gain`` (dimensionless, multiplier of ``Vm0`` at full SPU).
    t_start, t_end : float
        Simulated span, min (0 = reference time, e.g. the drink).
    meals : sequence of sequences of (time_min, carbs_g), optional
        Per system, the meals (oral glucose doses in g of carbohydrate) as impulses into the
        stomach.
    spu : sequence of sequences of (start_min, end_min), optional
        Per system, the SPU bouts.
    dt : float
        Output grid step, min.
    rtol, atol : float
        Solver tolerances.

    Returns
    -------
    SimResult
    """
    n = len(params)
    meals = meals if meals is not None else [[] for _ in range(n)]
    spu = spu if spu is not None else [[] for _ in range(n)]
    if len(meals) != n or len(spu) != n:
        raise ValueError("meals and spu need one entry per system (row of params)")
    state, p = basal_state(params)
    grid = np.arange(t_start, t_end + dt / 2, dt)
    cuts = {t_start, t_end}
    for ms in meals:
        cuts.update(float(t) for t, _ in ms if t_start <= t < t_end)
    for bouts in spu:
        for a, b in bouts:
            cuts.update(float(t) for t in (a, b) if t_start < t < t_end)
    cuts_arr = np.array(sorted(cuts))
    out = np.empty((_NS, n, len(grid)))
    dose = np.zeros(n)
    y = state.copy()
    for seg_start, seg_end in zip(cuts_arr[:-1], cuts_arr[1:], strict=True):
        for i, ms in enumerate(meals):
            for t, carbs in ms:
                if t == seg_start:
                    y[9, i] += carbs * 1000.0
                    dose[i] = carbs * 1000.0
        u = np.array([any(a <= seg_start < b for a, b in bouts) for bouts in spu], dtype=float)
        mask = (grid >= seg_start) & (grid <= seg_end)
        t_eval = grid[mask]
        sol = solve_ivp(
            _rhs_factory(p, dose.copy(), u),
            (seg_start, seg_end),
            y.ravel(),
            method="RK45",
            t_eval=t_eval,
            rtol=rtol,
            atol=atol,
        )
        if not sol.success:
            raise RuntimeError(f"ODE solver failed: {sol.message}")
        out[:, :, mask] = sol.y.reshape(_NS, n, -1)
        y = sol.y[:, -1].reshape(_NS, n).copy() if sol.y.shape[1] else y
        if not len(t_eval) or t_eval[-1] != seg_end:
            # carry the exact end state when the grid does not land on the cut
            y = _integrate_to(p, dose, u, sol, y, seg_start, seg_end, rtol, atol)
    glucose = out[0] / p["VG"][:, None]
    insulin = out[3] / p["VI"][:, None]
    ra = p["f"][:, None] * p["kabs"][:, None] * out[11] / p["BW"][:, None]
    return SimResult(grid, glucose, insulin, ra, out[12].copy(), out)


def _integrate_to(p, dose, u, sol, y, seg_start, seg_end, rtol, atol) -> np.ndarray:
    start = sol.y[:, -1] if sol.y.shape[1] else y.ravel()
    t0 = sol.t[-1] if sol.y.shape[1] else seg_start
    if t0 >= seg_end:
        return start.reshape(_NS, -1).copy()
    s2 = solve_ivp(_rhs_factory(p, dose.copy(), u), (t0, seg_end), start, rtol=rtol, atol=atol)
    return s2.y[:, -1].reshape(_NS, -1).copy()
