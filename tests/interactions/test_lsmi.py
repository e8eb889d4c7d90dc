"""LSMI: plug-in identities, continuous gates against the exact oracle and the discrete truth, controls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infomm.data.gates import GATES, EmbeddedGate, gate_joint
from infomm.functional.pid import ipm_pointwise
from infomm.interactions import pid
from infomm.interactions.result import lsmi_from_pointwise, lsmi_plugin
from infomm.interactions.sample_level import LSMI, lsmi
from infomm.interface import FlagCode, InputError

ATOMS = ("R", "U1", "U2", "S")
LN2 = math.log(2.0)


# ---------------------------------------------------------------- plug-in on exact distributions
@pytest.mark.parametrize("gate", GATES.names())
def test_plugin_raw_atoms_are_the_ipm_pointwise_atoms(gate: str) -> None:
    p = gate_joint(gate)
    res = lsmi_plugin(p)
    ipm = ipm_pointwise(p)
    cells = tuple(np.array(res.details["cells"]).T)
    for key in ("r", "u1", "u2", "s", "i1", "i2", "i12"):
        np.testing.assert_allclose(
            res.per_sample[f"{key}_raw" if key in "r u1 u2 s".split() else key], ipm[key][cells], atol=1e-12
        )
    assert abs(res.raw["R"] - pid(p, "ipm").R) < 1e-12


@pytest.mark.parametrize("gate", ["and", "or", "unq1", "sum"])
def test_plugin_after_adjustment_equals_broja(gate: str) -> None:
    res, broja = lsmi_plugin(gate_joint(gate)), pid(gate_joint(gate), "broja")
    for a in ATOMS + ("I1", "I2", "I12"):
        assert abs(getattr(res, a) - getattr(broja, a)) < 1e-7, a


@pytest.mark.parametrize("gate", GATES.names())
def test_adjustment_keeps_invariants_and_lands_in_band(gate: str) -> None:
    res = lsmi_plugin(gate_joint(gate))
    ps = res.per_sample
    np.testing.assert_allclose(ps["r"] + ps["u1"], ps["i1"], atol=1e-12)
    np.testing.assert_allclose(ps["r"] + ps["u1"] + ps["u2"] + ps["s"], ps["i12"], atol=1e-12)
    low, high = res.band
    assert low - 1e-12 <= res.R <= high + 1e-12
    assert res.clipped == (abs(res.shift) > 0)
    assert abs(res.R + res.U1 + res.U2 + res.S - res.I12) < 1e-12


def test_units_and_pid_view() -> None:
    res = lsmi_plugin(gate_joint("xor")).to("bits")
    assert abs(res.S - 1.0) < 1e-12 and res.unit == "bits"
    assert abs(res.per_sample["i12"] @ res.weights - 1.0) < 1e-12
    assert res.as_pid().S == res.S
    d = res.to_dict()
    assert {"R", "U1", "U2", "S", "I1", "I2", "I12", "raw", "clipped", "band"} <= set(d)


# ---------------------------------------------------------------- continuous gates
def _fit_decompose(gate: str, dim: int, n_train: int, seed: int = 0, **options: object):
    g = EmbeddedGate(gate, dim=dim, seed=seed)
    x1, x2, y = g.sample(n_train, seed=1)
    t1, t2, ty = g.sample(2000, seed=2)
    res = LSMI(seed=seed, **options).fit(x1, x2, y).decompose(t1, t2, ty)
    return res, g.oracle(t1, t2, ty), g.truth()


TRUTH_GATES = ("xor", "unq1", "rdn", "rdn+unq1", "unq1+xor")


@pytest.mark.parametrize("dim", [4, 16])
@pytest.mark.parametrize("gate", GATES.names())
def test_continuous_gates_match_oracle(gate: str, dim: int) -> None:
    res, oracle, truth = _fit_decompose(gate, dim, 2000)
    for a in ATOMS:
        assert abs(getattr(res, a) - getattr(oracle, a)) <= 0.05, (a, getattr(res, a), getattr(oracle, a))
    if gate in TRUTH_GATES:
        for a in ATOMS:
            assert abs(getattr(res, a) - getattr(truth, a)) <= 0.05, (a, getattr(res, a), getattr(truth, a))
    ps = res.per_sample
    np.testing.assert_allclose(ps["r"] + ps["u2"], ps["i2"], atol=1e-10)
    np.testing.assert_allclose(ps["r"] + ps["u1"] + ps["u2"] + ps["s"], ps["i12"], atol=1e-10)


def test_xor_high_dim_few_samples_and_the_uncalibrated_protocol_guard() -> None:
    res, oracle, _ = _fit_decompose("xor", 32, 1000)
    assert abs(res.S - oracle.S) <= 0.05
    # the original protocol (no early stopping, no temperature): S far above its ceiling ln 2
    raw, _, _ = _fit_decompose("xor", 32, 1000, calibrate=False, early_stopping=False)
    assert raw.S > LN2 + 0.3


def test_shuffled_labels_give_no_interaction() -> None:
    x1, x2, y = EmbeddedGate("rdn+unq1", dim=16).sample(4000, seed=3)
    res = lsmi(x1, x2, np.random.default_rng(0).permutation(y), seed=0)
    for a in ATOMS + ("I1", "I2", "I12"):
        assert abs(getattr(res, a)) <= 0.03, (a, getattr(res, a))


def test_duplicated_stream_is_all_redundancy() -> None:
    x1, _, y = EmbeddedGate("and", dim=4, noise=0.6).sample(4000, seed=3)
    res = lsmi(x1, x1.copy(), y, seed=0)
    assert 0.1 < res.I1
    assert abs(res.R - res.I1) <= 0.03
    assert abs(res.U1) <= 0.03 and abs(res.U2) <= 0.03 and abs(res.S) <= 0.03


def test_swapping_modalities_swaps_uniqueness() -> None:
    x1, x2, y = EmbeddedGate("rdn+unq1", dim=4).sample(3000, seed=4)
    a, b = lsmi(x1, x2, y, seed=0), lsmi(x2, x1, y, seed=0)
    assert abs(a.U1 - b.U2) <= 0.03 and abs(a.U2 - b.U1) <= 0.03 and abs(a.R - b.R) <= 0.03
    assert a.U1 > 0.6  # x1 = (a, b) carries the unique bit


def test_bootstrap_interval_covers_estimate_and_per_sample_file(tmp_path) -> None:
    x1, x2, y = EmbeddedGate("sum", dim=4).sample(1200, seed=5)
    res = lsmi(x1, x2, y, seed=0)
    ci = res.bootstrap(n_boot=300, seed=0)
    for a in ATOMS + ("I12",):
        lo, hi = ci[a]
        assert lo - 1e-9 <= getattr(res, a) <= hi + 1e-9
        assert hi - lo < 0.2
    path = res.save_per_sample(tmp_path / "ps.npz")
    with np.load(path) as z:
        np.testing.assert_allclose(z["r"] + z["u1"], z["i1"], atol=1e-10)
        assert z["r"].shape == (1200,)
    top = res.top_k("s", 5)
    assert (res.per_sample["s"][top] >= np.sort(res.per_sample["s"])[-5] - 1e-12).all()


def test_progress_and_options_reach_the_config() -> None:
    est = LSMI(hidden=8, lr=1e-2, n_components=2, folds=3)
    assert (est.config.hidden, est.config.fit.lr, est.config.density.n_components, est.config.folds) == (
        8,
        0.01,
        2,
        3,
    )
    with pytest.raises(InputError, match="unknown option 'bogus'"):
        LSMI(bogus=1)


def test_miscalibration_flag() -> None:
    n = 200
    i1 = np.full(n, -0.2)
    res = lsmi_from_pointwise(np.zeros(n), np.zeros(n), i1, np.zeros(n), np.zeros(n))
    assert any(f.code is FlagCode.NEGATIVE and "I(X1;Y)" in f.message for f in res.flags)


# ---------------------------------------------------------------- bad input
def test_bad_input_messages() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2))
    y = rng.integers(0, 2, 100)
    with pytest.raises(InputError, match="x1 has 100 rows but x2 has 99"):
        lsmi(x, x[:99], y)
    with pytest.raises(InputError, match="single class"):
        lsmi(x, x, np.zeros(100, dtype=int))
    with pytest.raises(InputError, match="non-integer"):
        lsmi(x, x, rng.standard_normal(100))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        lsmi(bad, x, y)
    with pytest.raises(InputError, match="one label per sample"):
        lsmi(x, x, y[:50])
    with pytest.raises(InputError, match="not fitted"):
        LSMI().decompose(x, x, y)
    with pytest.raises(InputError, match="folds"):
        lsmi(x, x, y, folds=1)
    with pytest.raises(InputError, match="prior"):
        LSMI(prior="flat")
