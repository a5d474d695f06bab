"""The real/imaginary stacking and weights, checked against hand-computed numbers."""

import numpy as np
import pytest

import eisfit as ef
from eisfit.linear.weights import residual_weights, stack

ZD = np.array([3 + 4j, 1 - 1j])  # data
ZM = np.array([4 + 4j, 1 + 0j])  # model → difference [1, 1j]


@pytest.mark.parametrize(
    "weight,expected",
    [
        ("unit", [1, 0, 0, 1]),
        ("modulus", [1 / 5, 0, 0, 1 / np.sqrt(2)]),
        ("proportional", [1 / 3, 0, 0, 1]),
        (np.array([2.0, 4.0]), [0.5, 0, 0, 0.25]),
        (np.array([2 + 1j, 4 + 8j]), [0.5, 0, 0, 0.125]),
    ],
)
def test_stacking_by_hand(weight, expected):
    w_re, w_im, _ = residual_weights(ZD, weight)
    np.testing.assert_allclose(stack(ZM - ZD, w_re, w_im), expected)


def test_fit_chi2_is_sum_of_squared_weighted_residuals():
    # model R1 = 4 (fixed) against data [3+4j, 1-1j]: differences [1-4j, 3+1j]
    spec = ef.Spectrum([10.0, 1.0], ZD)
    res = ef.fit("R1", spec, fixed={"R1": 4.0})
    # modulus weights 1/5 and 1/√2; data sorted ascending in frequency: [1-1j, 3+4j]
    expected = (3 / np.sqrt(2)) ** 2 + (1 / np.sqrt(2)) ** 2 + (1 / 5) ** 2 + (4 / 5) ** 2
    assert res.chi2 == pytest.approx(expected)
    # residuals are data − model, relative to |Z|: [(1−1j) − 4, (3+4j) − 4] / |Z|
    np.testing.assert_allclose(res.residuals, [(-3 - 1j) / np.sqrt(2), (-1 + 4j) / 5])


def test_unknown_weight_and_bad_sigma():
    with pytest.raises(ef.FitError, match="unknown weight"):
        residual_weights(ZD, "inverse")
    with pytest.raises(ef.FitError, match="positive"):
        residual_weights(ZD, np.array([1.0, -1.0]))
    with pytest.raises(ef.FitError, match="one entry per point"):
        residual_weights(ZD, np.array([1.0, 1.0, 1.0]))
