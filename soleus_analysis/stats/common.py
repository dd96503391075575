"""What every comparison shares: condition labels, the meal period, row selection, the log
offset, least squares, the covariate design and the names of interval columns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.validate import check_frame

__all__ = [
    "CONTROL",
    "TREATMENT",
    "ci_label",
    "design",
    "log_offset",
    "meal_period",
    "normal_quantile",
    "numeric_column",
    "ols",
    "select_rows",
    "t_quantile",
    "t_two_sided_p",
]

CONTROL = "control"
TREATMENT = "spu"
#: Covariate names that mean "the meal period derived from the hour of the meal".
TIME_OF_DAY_NAMES = frozenset({"time_of_day", "time_of_day_h"})
MEAL_PERIODS: tuple[str, ...] = ("breakfast", "lunch", "dinner")
#: Fraction of the median positive value used as log offset when zeros occur.
LOG_OFFSET_FRACTION = 0.1


def ci_label(ci: float) -> str:
    """The interval's name in column names, from its level: 0.95 -> ``"ci95"``, 0.9 -> ``"ci90"``.

    As pingouin names its interval column from ``confidence``: a table computed at another level
    never carries a ``ci95`` column.
    """
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1, got {ci}")
    return f"ci{100 * ci:g}".replace(".", "_")


def meal_period(hours: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray:
    """Map clock hours to meal periods.

    Parameters
    ----------
    hours : array-like of float
        Hour of the day of each meal (h, 0-24; values outside are wrapped modulo 24).

    Returns
    -------
    numpy.ndarray of str
        ``"breakfast"`` for 04:00-10:59, ``"lunch"`` for 11:00-15:59, ``"dinner"`` otherwise
        (late-evening and night meals count as dinner).
    """
    h = np.mod(np.asarray(hours, dtype=float), 24.0)
    return np.where(
        (h >= 4) & (h < 11), "breakfast", np.where((h >= 11) & (h < 16), "lunch", "dinner")
    )


def numeric_column(frame: pd.DataFrame, column: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column], errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {column!r} must be numeric ({exc})") from None


def select_rows(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str,
    condition: str,
    control: str,
    treatment: str,
    what: str,
) -> tuple[pd.DataFrame, int]:
    """Keep usable rows; return them with ``_y`` (float) and ``_t`` (bool) plus the count dropped."""
    check_frame(data, [subject, condition, value], what)
    keep = np.ones(len(data), dtype=bool)
    if "excluded_reason" in data.columns:
        keep &= data["excluded_reason"].isna().to_numpy()
    cond = data[condition].astype("object").to_numpy()
    is_t = cond == treatment
    keep &= is_t | (cond == control)
    y = numeric_column(data, value).to_numpy()
    keep &= np.isfinite(y)
    out = data.loc[keep].copy() if not keep.all() else data.copy()
    out["_y"] = y[keep]
    out["_t"] = is_t[keep]
    return out, int((~keep).sum())


def log_offset(values: np.ndarray) -> float:
    """0 if all values are positive, else 10% of the median positive value (1.0 if none)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or np.all(v > 0):
        return 0.0
    pos = v[v > 0]
    return float(LOG_OFFSET_FRACTION * np.median(pos)) if pos.size else 1.0


def normal_quantile(ci: float) -> float:
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1, got {ci}")
    from scipy import special

    return float(special.ndtri(0.5 + ci / 2))


# Student t through scipy.special (what scipy.stats.t calls underneath): the same numbers,
# without importing scipy.stats (most of a second) on every command's path.
def t_quantile(q: float | np.ndarray, dof: float | np.ndarray) -> np.ndarray | float:
    """Quantile ``q`` of Student's t with ``dof`` degrees of freedom (``scipy.stats.t.ppf``)."""
    from scipy import special

    out = special.stdtrit(np.asarray(dof, dtype=float), np.asarray(q, dtype=float))
    return float(out) if np.ndim(out) == 0 else out


def t_two_sided_p(t: float | np.ndarray, dof: float | np.ndarray) -> np.ndarray | float:
    """Two-sided p-value of a t statistic (``2 * scipy.stats.t.sf(|t|, dof)``)."""
    from scipy import special

    out = 2.0 * special.stdtr(np.asarray(dof, dtype=float), -np.abs(np.asarray(t, dtype=float)))
    return float(out) if np.ndim(out) == 0 else out


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Least squares: coefficients, their covariance, residual degrees of freedom, residual SD."""
    beta, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = int(len(y) - rank)
    s2 = float(resid @ resid / dof) if dof > 0 else np.nan
    cov = s2 * np.linalg.pinv(x.T @ x)
    return beta, cov, dof, float(np.sqrt(s2))


def design(
    frame: pd.DataFrame, covariates: Sequence[str], *, meal_time: str = "meal_time"
) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Covariate design columns (no intercept), covariates used, rows with complete covariates.

    Numeric covariates are centred on their mean; the meal period enters as dummies against its
    first present level. Covariates that are absent, all missing or constant are not used (the
    list returned says which were).
    """
    cols: dict[str, np.ndarray] = {}
    used: list[str] = []
    ok = np.ones(len(frame), dtype=bool)
    for cov in covariates:
        if cov in TIME_OF_DAY_NAMES:
            if "time_of_day_h" in frame.columns:
                hours = numeric_column(frame, "time_of_day_h").to_numpy()
            elif meal_time in frame.columns:
                t = pd.to_datetime(frame[meal_time])
                hours = (t.dt.hour + t.dt.minute / 60.0).to_numpy(dtype=float)
            else:
                continue
            ok &= np.isfinite(hours)
            cols[f"_tod:{cov}"] = hours
        elif cov in frame.columns:
            v = numeric_column(frame, cov).to_numpy()
            if not np.isfinite(v).any():
                continue
            ok &= np.isfinite(v)
            cols[cov] = v
    out: dict[str, np.ndarray] = {}
    for name, v in cols.items():
        v = v[ok]
        if name.startswith("_tod:"):
            period = meal_period(v)
            levels = [p for p in MEAL_PERIODS if (period == p).any()]
            if len(levels) < 2:
                continue
            for lev in levels[1:]:
                out[f"time_of_day[{lev}]"] = (period == lev).astype(float)
            used.append(name[5:])
        else:
            if v.size == 0 or np.ptp(v) == 0:
                continue
            out[name] = v - v.mean()
            used.append(name)
    return pd.DataFrame(out, index=frame.index[ok]), used, ok
