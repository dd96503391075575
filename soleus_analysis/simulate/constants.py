"""The one place where the size of the simulated soleus-pushup (SPU) effect is set.

The simulator models SPU as extra insulin-independent glucose uptake: ``Vm0 * (1 + E_spu)``
with ``E_spu`` following ``spu_gain`` while pushing up (see
:mod:`soleus_analysis.simulate.physiology`). :data:`SPU_GAIN` is the population median of
``spu_gain``, chosen so that in the ``hamilton2022`` protocol the noise-free mean glucose iAUC
(0-180 min, baseline at t0, :func:`soleus_analysis.response.iauc_batch`) of a large cohort is 52%
lower with SPU than sitting (Hamilton et al. 2022 report "52% less" glucose excursion).

The values below are found by the calibration procedure in
:mod:`soleus_analysis.simulate.calibrate` (``python -m soleus_analysis.simulate.calibrate``) and
copied here by hand: this module holds numbers only and imports nothing, so every simulator
module may import it (:mod:`.protocols`, :mod:`.study`) without importing the calibration.

Only the simulator uses these constants; the analysis code never imports them, so the analysis
recovers the effect blind from the files.
"""

from __future__ import annotations

#: Target reduction of the mean glucose iAUC in the hamilton2022 protocol, percent.
TARGET_REDUCTION_PCT: float = 52.0

#: Calibration cohort.
CALIBRATION_N: int = 2000
CALIBRATION_SEED: int = 20220901

#: Median SPU gain (dimensionless multiplier of Vm0 at full SPU).
#: Set by running ``.venv/bin/python -m soleus_analysis.simulate.calibrate`` (which first calls
#: ``calibrate_spu_gain(target_pct=52.0, protocol="hamilton2022", n=2000, seed=20220901)``,
#: noise-free, Brent root finding to xtol 1e-4) and copying the printed value here.
#: Result of that run (22 s on 2 cores, after the 2026 population revision: hamilton2022
#: 'healthy_sedentary' now the Dalla Man normal subject (normal glucose tolerance, mean 2-h glucose
#: ~130 mg/dL), the drink absorbed 1.25 x as fast as a mixed meal): gain 3.7398; on the
#: calibration cohort the mean glucose iAUC fell by 52.00% and the mean insulin iAUC by 56.56%
#: (insulin is not calibrated). Noise-free on that cohort the mean control-minus-SPU glucose
#: difference at 60, 90 and 120 min is 30.1 mg/dL (published ~50: a normal-tolerance sitting
#: excursion is too small for a 52% reduction to be 50 mg/dL).
#: (Before: gain 2.6508 with the insulin-resistant population now called 'sedentary_igt', whose
#: mean 2-h glucose was ~186 mg/dL; difference 43.4 mg/dL. Before that: gain 3.0067.)
#: What the gain means physically (extra uptake in mg/min and g, per kg of soleus) is computed
#: by :func:`soleus_analysis.simulate.implied_physiology` and shown in notebook 01.
#: Re-run it after any change to the physiology, populations or protocol defaults.
SPU_GAIN: float = 3.7398


#: Target reduction of the elek2025 protocol (Elek et al. 2025 report ~32% lower excursion).
ELEK2025_TARGET_PCT: float = 32.0

#: SPU intensity of the elek2025 protocol relative to the Hamilton lab SPU (multiplier of
#: SPU_GAIN). Set by the same command (``calibrate_spu_intensity(target_pct=32.0,
#: protocol="elek2025", n=2000, seed=20220901)`` with SPU_GAIN above fixed).
#: Result of that run (with SPU_GAIN = 3.7398 already in this file; the command must be run
#: twice when SPU_GAIN changes, since the intensity search reads the constant): intensity 0.4363
#: (glucose iAUC -32.00%, insulin iAUC -37.47% on the calibration cohort; before the 2026
#: population revision 0.6156). The smaller replication effect is thereby attributed to less intense
#: SPU, an assumption of the simulation, not a finding.
ELEK2025_SPU_INTENSITY: float = 0.4363
