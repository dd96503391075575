"""Study protocols as data: one frozen :class:`Protocol` per study, collected in :data:`PROTOCOLS`.

Details the papers do not confirm (number of people, drink size, sampling times, when SPU ran)
are fields with stated defaults; ``unconfirmed`` lists them, so a notebook or report can say which
choices were made. Override any field with ``simulate_study(protocol, **overrides)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .constants import ELEK2025_SPU_INTENSITY


@dataclass(frozen=True)
class Protocol:
    """A simulated study design.

    Attributes
    ----------
    name : str
        Short key (used in file names).
    description : str
        One line for people, with the reference.
    design : str
        ``"crossover_ogtt"`` (each person: a control test and an SPU test on different days) or
        ``"freeliving"`` (one self-tracker, meals over several days, SPU after some of them).
    population : str
        Key of :data:`soleus_analysis.simulate.physiology.POPULATIONS`.
    n : int
        Default number of people.
    carbs_g : float
        Glucose drink, g (crossover designs).
    window_min : float
        Response window after the drink/meal, min (iAUC from 0 to ``window_min``, baseline t0).
    lab_minutes : tuple of float
        Venous sampling times after the drink, min.
    insulin_reported : bool
        Whether the study reported insulin (insulin is simulated in any case).
    spu_start_min, spu_end_min : float
        SPU bout relative to the drink/meal, min.
    order : str
        ``"random"`` (each person's order of the two conditions drawn at random) or ``"fixed"``
        (control first).
    days_between : int
        Days between the two tests.
    test_clock : str
        Local clock time of the drink, ``"HH:MM"``.
    start_date : str
        Date of the first test of the first person (``YYYY-MM-DD``); later people start
        ``stagger_days`` later each.
    stagger_days : int
        Days between successive people's first tests.
    cgm : str or None
        Sensor preset of :data:`soleus_analysis.simulate.sensor.SENSORS` (None: no CGM).
    cgm_before_min, cgm_after_min : float
        CGM readings kept around each test, min before and after the drink (files stay small).
    sensor_day_at_first_test : float
        Days of sensor wear at the first test (for the gain drift).
    absorption_speed : float
        Multiplier of ``kabs``, ``kmin`` and ``kmax`` (1 = Dalla Man mixed-meal values).
    glucose_assay_cv, insulin_assay_cv : float
        Multiplicative lab assay noise (CV) on venous glucose and insulin.
    spu_gain : float or None
        SPU size (multiplier of ``Vm0`` at full SPU); None = the calibrated constant
        :data:`~soleus_analysis.simulate.constants.SPU_GAIN`.
    spu_intensity : float
        Multiplier of the SPU gain for this protocol (1 = the Hamilton 2022 lab SPU the gain is
        calibrated on; lower = less intense or less sustained SPU).
    spu_response_cv : float
        Between-person CV of the SPU effect (lognormal; assumed).
    days : int
        Free-living: days of CGM.
    meals : tuple of (name, earliest "HH:MM", latest "HH:MM", carbs min g, carbs max g)
        Free-living: meal slots per day; time and carbs uniform in the ranges.
    spu_fraction : float
        Free-living: fraction of meals followed by SPU, randomised within blocks (see
        ``block_size``).
    block_size : int
        Free-living: meals of the same meal slot per randomisation block, as the planner
        (:func:`soleus_analysis.app.plan.make_schedule`) draws them: the slot's 1st and 2nd meal
        form block 1, the 3rd and 4th block 2, ...; in each block ``round(spu_fraction *
        block_size)`` meals get SPU, in random order. An incomplete last block (a slot with an odd
        number of days) takes the first meals of a full block's random order, so each of its
        meals still has SPU with probability ``spu_fraction``. Each meal's block is logged
        (``block`` column of the activity log, ``<slot>-<k>`` as in the planner).
    unconfirmed : tuple of str
        Fields whose defaults the source papers do not confirm.
    notes : str
        Design choices, stated for reports.
    """

    name: str
    description: str
    design: str = "crossover_ogtt"
    population: str = "healthy_sedentary"
    n: int = 25
    carbs_g: float = 75.0
    window_min: float = 180.0
    lab_minutes: tuple[float, ...] = (0, 15, 30, 45, 60, 90, 120, 150, 180)
    insulin_reported: bool = True
    spu_start_min: float = 0.0
    spu_end_min: float = 180.0
    order: str = "random"
    days_between: int = 7
    test_clock: str = "08:00"
    start_date: str = "2025-03-03"
    stagger_days: int = 2
    cgm: str | None = "dexcom_g6"
    cgm_before_min: float = 120.0
    cgm_after_min: float = 360.0
    sensor_day_at_first_test: float = 1.0
    absorption_speed: float = 1.0
    glucose_assay_cv: float = 0.02
    insulin_assay_cv: float = 0.05
    spu_gain: float | None = None
    spu_intensity: float = 1.0
    spu_response_cv: float = 0.25
    days: int = 14
    meals: tuple[tuple[str, str, str, float, float], ...] = field(default_factory=tuple)
    spu_fraction: float = 0.5
    block_size: int = 2
    unconfirmed: tuple[str, ...] = ()
    notes: str = ""


PROTOCOLS: dict[str, Protocol] = {
    "hamilton2022": Protocol(
        name="hamilton2022",
        description=(
            "Hamilton, Hamilton & Zderic 2022, iScience 25:104869: sedentary adults, OGTT, 180 min, "
            "sitting vs soleus pushups within the same people"
        ),
        population="healthy_sedentary",
        n=25,
        carbs_g=75.0,
        window_min=180.0,
        lab_minutes=(0, 15, 30, 45, 60, 90, 120, 150, 180),
        spu_start_min=0.0,
        spu_end_min=180.0,
        order="random",
        cgm="dexcom_g6",
        # a glucose drink empties and is absorbed faster than Dalla Man's mixed meal (assumed)
        absorption_speed=1.25,
        unconfirmed=("n", "carbs_g", "lab_minutes", "spu_start_min", "order", "absorption_speed"),
        notes=(
            "SPU is simulated continuously from the drink (t=0) to 180 min ('SPU during the OGTT'); "
            "conditions 7 days apart in random order; a Dexcom G6 worn through both tests. The "
            "volunteers are simulated with normal glucose tolerance (population "
            "healthy_sedentary), the glucose drink absorbed 1.25 x as fast as a mixed meal."
        ),
    ),
    "elek2025": Protocol(
        name="elek2025",
        description=(
            "Elek et al. 2025, Sports 13:81: 10 adults with prediabetes, sitting OGTT then SPU OGTT, "
            "glucose every 15 min for 120 min"
        ),
        population="prediabetes",
        n=10,
        carbs_g=75.0,
        window_min=120.0,
        lab_minutes=(0, 15, 30, 45, 60, 75, 90, 105, 120),
        insulin_reported=False,
        spu_start_min=0.0,
        spu_end_min=120.0,
        order="fixed",
        spu_intensity=ELEK2025_SPU_INTENSITY,
        cgm=None,
        start_date="2025-05-05",
        unconfirmed=("carbs_g", "spu_start_min", "days_between", "spu_intensity"),
        notes=(
            "Insulin is simulated and stored but the study did not report it; control test first, "
            "SPU test 7 days later; SPU from the drink to 120 min. The SPU intensity relative to "
            "Hamilton's coached lab SPU is set so the simulated reduction is the reported ~32% "
            "(see soleus_analysis.simulate.constants): the replication's smaller effect is "
            "attributed to less intense SPU, an assumption, not a finding."
        ),
    ),
    "freeliving": Protocol(
        name="freeliving",
        description=(
            "One self-tracker, 14 days, three meals a day, SPU for 30 min from the start of a "
            "random half of the meals (randomised in blocks of two meals per meal slot, as the "
            "planner does), Dexcom G7"
        ),
        design="freeliving",
        population="healthy",
        n=1,
        window_min=120.0,
        lab_minutes=(),
        insulin_reported=False,
        spu_start_min=0.0,
        spu_end_min=30.0,
        cgm="dexcom_g7",
        start_date="2025-06-02",
        sensor_day_at_first_test=0.5,
        days=14,
        # Carbs per meal 30-85 g (previously 35-100 g, which with Dalla Man's mixed-meal
        # absorption gave a CGM SD of ~20-25 mg/dL, above the ~14-15 of healthy adults, Shah 2019).
        meals=(
            ("breakfast", "07:00", "08:30", 30.0, 60.0),
            ("lunch", "12:00", "13:30", 40.0, 75.0),
            ("dinner", "18:30", "20:00", 45.0, 85.0),
        ),
        spu_fraction=0.5,
        unconfirmed=("days", "meals", "spu_end_min", "spu_fraction"),
        notes=(
            "Each day is simulated continuously from 00:00 with the meals as inputs to the "
            "absorption model; the 14 days are one continuous simulation."
        ),
    ),
}


def get_protocol(protocol: str | Protocol) -> Protocol:
    """Return a :class:`Protocol` from its name (or itself)."""
    if isinstance(protocol, Protocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(
            f"unknown protocol {protocol!r}; expected one of: {', '.join(sorted(PROTOCOLS))}"
        ) from None
