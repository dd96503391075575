"""The t and binomial helpers that spare every command the import of scipy.stats agree with
scipy.stats itself (the peer), over the range the analysis uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from soleus_analysis.stats.common import normal_quantile, t_quantile, t_two_sided_p
from soleus_analysis.stats.power import _binom_ci


@settings(max_examples=200, deadline=None)
@given(q=st.floats(0.001, 0.999), dof=st.floats(1.0, 500.0))
def test_t_quantile_is_scipy_stats(q, dof):
    assert t_quantile(q, dof) == pytest.approx(stats.t.ppf(q, dof), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(t=st.floats(-40, 40), dof=st.floats(1.0, 500.0))
def test_two_sided_p_is_scipy_stats(t, dof):
    assert t_two_sided_p(t, dof) == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-9, abs=1e-300)


def test_vectorised_and_normal():
    dof = np.array([3.0, 10.0, 40.0])
    assert np.allclose(t_quantile(0.975, dof), stats.t.ppf(0.975, dof))
    assert normal_quantile(0.95) == pytest.approx(stats.norm.ppf(0.975))


@pytest.mark.parametrize("hits,n", [(0, 50), (1, 50), (25, 50), (49, 50), (50, 50), (312, 1000)])
def test_binomial_interval_is_clopper_pearson(hits, n):
    ref = stats.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = _binom_ci(hits, n, 0.95)
    assert low == pytest.approx(ref.low, abs=1e-12) and high == pytest.approx(ref.high, abs=1e-12)


def test_the_package_imports_without_scipy_stats():
    import subprocess
    import sys

    code = (
        "import sys, soleus_analysis.pipeline, soleus_analysis.stats.bayes;"
        "print('scipy.stats' in sys.modules, 'statsmodels' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
