"""How the size of the simulated soleus-pushup (SPU) effect was found: the calibration procedure.

The constants it finds live in :mod:`soleus_analysis.simulate.constants` (the one place where
the SPU effect is set). Run ``.venv/bin/python -m soleus_analysis.simulate.calibrate`` after any
change to the physiology, populations or protocol defaults and copy the printed values there.

Both searches run noise-free cohorts (:func:`~soleus_analysis.simulate.study.population_truth`,
the same people for every trial value) and find the value by Brent root finding.
"""

from __future__ import annotations

import time

from scipy.optimize import brentq

from .constants import CALIBRATION_N, CALIBRATION_SEED, ELEK2025_TARGET_PCT, TARGET_REDUCTION_PCT
from .study import population_truth


def calibrate_spu_intensity(
    target_pct: float = ELEK2025_TARGET_PCT,
    protocol: str = "elek2025",
    n: int = CALIBRATION_N,
    seed: int = CALIBRATION_SEED,
    xtol: float = 1e-4,
) -> float:
    """Find the protocol's ``spu_intensity`` giving ``target_pct`` % lower mean glucose iAUC.

    Same cohort rules as :func:`calibrate_spu_gain`, with
    :data:`~soleus_analysis.simulate.constants.SPU_GAIN` fixed.

    Returns
    -------
    float
        The intensity (multiplier of :data:`~soleus_analysis.simulate.constants.SPU_GAIN`).
    """

    def gap(intensity: float) -> float:
        red = population_truth(protocol, n=n, seed=seed, spu_intensity=intensity)
        return red["glucose_iauc_reduction_pct"] - target_pct

    return float(brentq(gap, 0.01, 3.0, xtol=xtol))


def calibrate_spu_gain(
    target_pct: float = TARGET_REDUCTION_PCT,
    protocol: str = "hamilton2022",
    n: int = CALIBRATION_N,
    seed: int = CALIBRATION_SEED,
    bracket: tuple[float, float] = (0.05, 20.0),
    xtol: float = 1e-4,
) -> float:
    """Find the SPU gain giving ``target_pct`` % lower mean glucose iAUC (noise-free).

    Parameters
    ----------
    target_pct : float
        Target reduction, percent.
    protocol : str
        Crossover protocol to calibrate on.
    n : int
        Cohort size.
    seed : int
        Seed of the cohort (the same people for every trial gain).
    bracket : (float, float)
        Search interval of the gain.
    xtol : float
        Absolute tolerance on the gain.

    Returns
    -------
    float
        The gain.
    """

    def gap(gain: float) -> float:
        red = population_truth(protocol, n=n, seed=seed, spu_gain=gain, spu_intensity=1.0)
        return red["glucose_iauc_reduction_pct"] - target_pct

    return float(brentq(gap, *bracket, xtol=xtol))


def main() -> None:
    """The documented calibration command: find both constants and print them with a check."""
    t0 = time.perf_counter()
    gain = calibrate_spu_gain()
    check = population_truth("hamilton2022", n=CALIBRATION_N, seed=CALIBRATION_SEED, spu_gain=gain)
    print(f"SPU_GAIN = {gain:.4f}  ({time.perf_counter() - t0:.1f} s)")
    print(f"check on the calibration cohort: {check}")
    t0 = time.perf_counter()
    intensity = calibrate_spu_intensity()
    check = population_truth(
        "elek2025", n=CALIBRATION_N, seed=CALIBRATION_SEED, spu_gain=gain, spu_intensity=intensity
    )
    print(f"ELEK2025_SPU_INTENSITY = {intensity:.4f}  ({time.perf_counter() - t0:.1f} s)")
    print(f"check: {check}")


if __name__ == "__main__":  # pragma: no cover - the documented calibration command
    main()
