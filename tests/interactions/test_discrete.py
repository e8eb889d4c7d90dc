"""Discrete PID: dit as reference, an independent BROJA solver, invariants and gate truths."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

from infomm.data.gates import GATES, KNOWN_ATOMS_BITS, gate_joint, sample_gate
from infomm.functional import pid as F
from infomm.interactions import IPM, PID_MEASURES, PIDResult, pid, pid_from_samples
from infomm.interface import InputError

LN2 = np.log(2.0)
METHODS = ["mmi", "imin", "broja", "ipm"]


def _random_joints(k: int = 20, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        shape = tuple(int(s) for s in rng.integers(2, 4, 3))
        out.append(rng.dirichlet(np.full(int(np.prod(shape)), 0.7)).reshape(shape))
    return out


RANDOM = _random_joints()
ALL = [(g, gate_joint(g)) for g in GATES] + [(f"rand{i}", p) for i, p in enumerate(RANDOM)]


def _atoms(r: PIDResult) -> np.ndarray:
    return np.array([r.R, r.U1, r.U2, r.S])


def _dit_atoms(p: np.ndarray, method: str) -> np.ndarray:
    dit = pytest.importorskip("dit")
    from dit.pid import PID_BROJA, PID_MMI, PID_PM, PID_WB

    cls = {"mmi": PID_MMI, "imin": PID_WB, "broja": PID_BROJA, "ipm": PID_PM}[method]
    outcomes = [tuple(int(i) for i in idx) for idx in np.argwhere(p > 0)]
    d = dit.Distribution(outcomes, [float(p[o]) for o in outcomes])
    r = cls(d, ((0,), (1,)), (2,))
    return np.array([r.get_pi(((0,), (1,))), r.get_pi(((0,),)), r.get_pi(((1,),)), r.get_pi(((0, 1),))])


@pytest.mark.parametrize("method", ["mmi", "imin", "ipm"])
def test_matches_dit_on_gates_and_random_joints(method: str) -> None:
    for name, p in ALL:
        ours = _atoms(pid(p, method, unit="bits"))
        np.testing.assert_allclose(ours, _dit_atoms(p, method), atol=1e-9, err_msg=name)


def test_broja_matches_dit_on_gates() -> None:
    # dit 2.3's BROJA optimiser is randomly initialised (not seedable here) and on xor, unq1+xor and
    # rdn+xor sometimes stops far from the minimum (seen: U1 = 0.87 bits on xor, truth 0); there we check
    # that our U1, U2 are never above dit's (smaller is a better minimum over Delta_P) and
    # test_known_gate_values checks the truth.
    for name in GATES:
        ours = _atoms(pid(gate_joint(name), "broja", unit="bits"))
        theirs = _dit_atoms(gate_joint(name), "broja")
        if name in ("xor", "unq1+xor", "rdn+xor"):
            assert ours[1] <= theirs[1] + 1e-5 and ours[2] <= theirs[2] + 1e-5, name
        else:
            np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=name)


def _broja_u1_slsqp(p: np.ndarray) -> float:
    """Independent reference: minimise I_Q(X1;Y|X2) over Delta_P = P + null space of the marginal maps."""
    a, b, c = p.shape
    A = np.concatenate(
        [
            np.kron(np.kron(np.eye(a), np.ones((1, b))), np.eye(c)),
            np.kron(np.kron(np.ones((1, a)), np.eye(b)), np.eye(c)),
        ]
    )
    N = scipy.linalg.null_space(A)
    p0 = p.ravel()

    def q_of(t: np.ndarray) -> np.ndarray:
        return np.clip(p0 + N @ t, 1e-300, None).reshape(p.shape)

    def grad(t: np.ndarray) -> np.ndarray:
        q = q_of(t)
        return N.T @ np.log(q / q.sum(axis=2, keepdims=True)).ravel()

    res = scipy.optimize.minimize(
        lambda t: -F.conditional_entropy_y(q_of(t)),
        np.zeros(N.shape[1]),
        jac=grad,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda t: p0 + N @ t, "jac": lambda t: N}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return F.conditional_entropy_2d(p.sum(axis=0)) + float(res.fun)


def test_broja_matches_independent_solver_and_optimum_is_feasible() -> None:
    for i, p in enumerate(RANDOM):
        r = pid(p, "broja")
        assert abs(r.U1 - _broja_u1_slsqp(p)) / LN2 < 1e-5, i
        q = r.details["q"]
        np.testing.assert_allclose(q.sum(axis=1), p.sum(axis=1), atol=1e-8)
        np.testing.assert_allclose(q.sum(axis=0), p.sum(axis=0), atol=1e-8)
        u1_q = F.conditional_entropy_2d(q.sum(axis=0)) - F.conditional_entropy_y(q)  # I_Q(X1;Y|X2)
        assert abs(u1_q - r.U1) < 1e-7
        assert min(_atoms(r)) > -1e-9  # BROJA atoms are non-negative


@pytest.mark.parametrize("method", METHODS)
def test_invariants_and_swap_symmetry(method: str) -> None:
    for name, p in ALL:
        r = pid(p, method, unit="bits")
        i1, i2, i12 = (v / LN2 for v in F.mutual_informations(p))
        assert abs(r.R + r.U1 - i1) < 1e-8 and abs(r.R + r.U2 - i2) < 1e-8, name
        assert abs(r.R + r.U1 + r.U2 + r.S - i12) < 1e-8, name
        s = pid(p.transpose(1, 0, 2), method, unit="bits")
        tol = 1e-6 if method == "broja" else 1e-10
        np.testing.assert_allclose(_atoms(s), [r.R, r.U2, r.U1, r.S], atol=tol, err_msg=name)


def test_known_gate_values() -> None:
    for name, atoms in KNOWN_ATOMS_BITS.items():
        np.testing.assert_allclose(_atoms(pid(gate_joint(name), "broja", unit="bits")), atoms, atol=1e-6)
    for method in ("mmi", "imin"):
        np.testing.assert_allclose(
            _atoms(pid(gate_joint("xor"), method, unit="bits")), [0, 0, 0, 1], atol=1e-12
        )
        np.testing.assert_allclose(
            _atoms(pid(gate_joint("rdn"), method, unit="bits")), [1, 0, 0, 0], atol=1e-12
        )
        np.testing.assert_allclose(
            _atoms(pid(gate_joint("unq1"), method, unit="bits")), [0, 1, 0, 0], atol=1e-12
        )
        np.testing.assert_allclose(
            _atoms(pid(gate_joint("copy"), method, unit="bits")), [1, 0, 0, 1], atol=1e-12
        )
    for method in ("imin", "broja"):
        r = pid(gate_joint("and"), method, unit="bits")
        assert abs(r.R - 0.311278) < 1e-6 and abs(r.S - 0.5) < 1e-6 and abs(r.U1) < 1e-6
    # I± on AND (negative unique information = misinformation; the values dit 2.3 PID_PM gives)
    np.testing.assert_allclose(
        _atoms(pid(gate_joint("and"), "ipm", unit="bits")), [0.561278, -0.25, -0.25, 0.75], atol=1e-6
    )


def test_ipm_pointwise_averages_to_atoms() -> None:
    ipm = IPM()
    for name, p in ALL:
        pw = ipm.pointwise(p, unit="bits")
        r = ipm(p, unit="bits")
        for key, atom in (("r", r.R), ("u1", r.U1), ("u2", r.U2), ("s", r.S)):
            assert pw[key].shape == p.shape
            assert abs(float((p * pw[key]).sum()) - atom) < 1e-10, (name, key)
        # i12 is the pointwise joint MI: its average is I(X1,X2;Y)
        assert abs(float((p * pw["i12"]).sum()) - r.I12) < 1e-10
    # XOR: every realisation carries r = 0 (h(x_i) = h(x_i|y) = 1 bit) and s = 1 bit
    pw = ipm.pointwise(gate_joint("xor"), unit="bits")
    m = gate_joint("xor") > 0
    np.testing.assert_allclose(pw["s"][m], 1.0, atol=1e-12)
    np.testing.assert_allclose(pw["r"][m], 0.0, atol=1e-12)


def test_ipm_pointwise_from_samples_matches_average() -> None:
    x1, x2, y = sample_gate("and", 4000, seed=1)
    per = IPM().pointwise_from_samples(x1, x2, y)
    r = pid_from_samples(x1, x2, y, "ipm")
    assert per["s"].shape == (4000,)
    assert abs(per["s"].mean() - r.S) < 1e-10 and abs(per["r"].mean() - r.R) < 1e-10


@pytest.mark.parametrize("method", METHODS)
def test_plugin_from_samples_approaches_exact(method: str) -> None:
    for gate in ("and", "sum", "unq1+xor"):
        exact = _atoms(pid(gate_joint(gate), method, unit="bits"))
        x1, x2, y = sample_gate(gate, 200_000, seed=3)
        est = pid_from_samples(x1, x2, y, method, unit="bits")
        np.testing.assert_allclose(_atoms(est), exact, atol=0.01, err_msg=gate)
        assert est.details["n"] == 200_000 and "warning" not in est.details


def test_units_and_serialisation() -> None:
    r = pid(gate_joint("xor"), "broja")
    assert abs(r.S - LN2) < 1e-8 and r.unit == "nats"
    b = r.to("bits")
    assert abs(b.S - 1.0) < 1e-8 and b.unit == "bits" and b.to("nats").S == pytest.approx(r.S)
    d = json.loads(json.dumps(b.to_dict()))
    assert d["method"] == "broja" and d["unit"] == "bits" and abs(d["S"] - 1.0) < 1e-8
    assert PID_MEASURES.names() == ["broja", "imin", "ipm", "mmi"]
    with pytest.raises(InputError, match="unit"):
        r.to("dits")  # type: ignore[arg-type]


def test_bad_inputs_raise_input_error() -> None:
    x = np.array([0, 1, 0, 1, 1, 0])
    with pytest.raises(InputError, match="same"):
        pid_from_samples(x, x, x[:-1])
    with pytest.raises(InputError, match="NaN"):
        pid_from_samples(x, np.array([0, 1, np.nan, 1, 0, 0]), x)
    with pytest.raises(InputError, match="bin"):
        pid_from_samples(x + 0.5, x, x)
    with pytest.raises(InputError, match="single class"):
        pid_from_samples(x, x, np.zeros(6, dtype=int))
    with pytest.raises(InputError, match="distinct values"):
        pid_from_samples(np.arange(100), np.arange(100) % 2, np.arange(100) % 3)
    with pytest.raises(InputError, match="sums to"):
        pid(np.ones((2, 2, 2)), "mmi")
    with pytest.raises(InputError, match="negative"):
        pid(np.array([[[0.5, 0.5], [0.5, -0.5]]]), "mmi")
    with pytest.raises(InputError, match="shape"):
        pid(np.full((2, 2), 0.25), "mmi")
    with pytest.raises(InputError, match="unknown PID measure"):
        pid(gate_joint("xor"), "nope")
    small = pid_from_samples(x, x, x, "mmi")
    assert "warning" in small.details
