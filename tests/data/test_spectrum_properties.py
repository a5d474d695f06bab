"""Sorting, masking and cropping keep freq, Z and mask aligned (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import eisfit as ef

PROPS = settings(max_examples=60, deadline=None)


@st.composite
def spectra(draw):
    n = draw(st.integers(1, 40))
    # distinct frequencies so that each point is identified by its frequency
    exps = draw(st.lists(st.integers(-300, 600), min_size=n, max_size=n, unique=True))
    f = 10.0 ** (np.array(exps) / 100.0)
    perm = draw(st.permutations(list(range(n))))
    f = f[list(perm)]
    # Z encodes the frequency, so misalignment is detectable
    Z = np.log10(f) + 1j * (-(f**0.5))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return ef.Spectrum(f, Z, use=mask)


def _aligned(s: ef.Spectrum, reference: dict) -> None:
    np.testing.assert_allclose(s.Z, np.log10(s.freq) + 1j * (-(s.freq**0.5)))
    for fv, m in zip(s.freq, s.use):
        assert reference[float(fv)] == m


@PROPS
@given(s=spectra(), desc=st.booleans())
def test_sorted_keeps_alignment(s, desc):
    ref = dict(zip(s.freq.tolist(), s.use.tolist()))
    t = s.sorted(descending=desc)
    assert sorted(t.freq.tolist()) == sorted(s.freq.tolist())
    d = np.diff(t.freq)
    assert np.all(d < 0) if desc else np.all(d > 0)
    _aligned(t, ref)


@PROPS
@given(s=spectra(), data=st.data())
def test_masked_marks_exactly_the_chosen_points(s, data):
    where = np.array(data.draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s))))
    t = s.exclude(where)
    np.testing.assert_array_equal(t.freq, s.freq)
    np.testing.assert_array_equal(t.use, s.use & ~where)
    # masking after sorting hits the same frequencies as before sorting
    order = np.argsort(s.freq)
    u = s.sorted().exclude(where[order])
    excluded_u = set(u.freq[~u.use].tolist())
    assert excluded_u == set(s.freq[~(s.use & ~where)].tolist())
    f_act, z_act = t.active()
    np.testing.assert_array_equal(f_act, s.freq[t.use])
    np.testing.assert_array_equal(z_act, s.Z[t.use])


@PROPS
@given(s=spectra(), lo=st.floats(-3, 6), span=st.floats(0, 9))
def test_crop_keeps_alignment(s, lo, span):
    ref = dict(zip(s.freq.tolist(), s.use.tolist()))
    fmin, fmax = 10.0**lo, 10.0 ** (lo + span)
    t = s.crop(fmin, fmax)
    expect = [f for f in s.freq.tolist() if fmin <= f <= fmax]
    assert t.freq.tolist() == expect  # order preserved
    _aligned(t, ref)
    assert t.meta == s.meta


@PROPS
@given(s=spectra())
def test_arrays_are_read_only(s):
    for a in (s.freq, s.Z, s.use):
        assert not a.flags.writeable
