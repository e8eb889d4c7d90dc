"""Gates in continuous features: the exact LSMI oracle against the discrete plug-in, invariants,
an independent 1-D integral, and the sampler's moments."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

from infomm.data.gates import GATES, KNOWN_ATOMS_BITS, EmbeddedGate, gate_joint, gate_oracle
from infomm.interactions.result import lsmi_plugin
from infomm.interface import InputError

LN2 = np.log(2.0)
NAMES = sorted(KNOWN_ATOMS_BITS)
ALL = ("R", "U1", "U2", "S", "I1", "I2", "I12")


def stratified(name: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discrete values in the exact proportions p(v1, v2, y) (no sampling error in the discrete part)."""
    p = gate_joint(name)
    cells = np.argwhere(p > 0)
    reps = np.rint(p[p > 0] * n).astype(int)
    assert reps.sum() == n
    c = np.repeat(cells, reps, axis=0)
    return c[:, 0], c[:, 1], c[:, 2]


@pytest.mark.parametrize("name", NAMES)
def test_oracle_at_small_noise_is_the_discrete_plugin(name: str) -> None:
    # noise 0.1 against means 2 apart: the latent is recovered almost surely, so the dataset-level
    # atoms are those of LSMI on the exact joint (the raw atoms are not: per-sample noise surprisal
    # differs between the modalities; the RUS adjustment lands on the same point)
    gate = EmbeddedGate(name, dim=4, noise=0.1)
    v1, v2, y = stratified(name, 20_000)
    res = gate.oracle(*gate.embed(v1, v2, seed=0), y)
    ref = lsmi_plugin(gate_joint(name))
    assert res.method == "oracle" and res.n == 20_000
    for a in ALL:
        assert abs(getattr(res, a) - getattr(ref, a)) < 1e-3, a


@pytest.mark.parametrize("name", ["and", "sum", "rdn+xor"])
def test_oracle_on_random_samples_within_sampling_error(name: str) -> None:
    gate = EmbeddedGate(name, dim=4, noise=0.1)
    res = gate.oracle(*gate.sample(20_000, seed=3))
    ref = lsmi_plugin(gate_joint(name))
    se = max(res.per_sample[k].std() for k in ("i1", "i2", "i12")) / np.sqrt(res.n)
    for a in ALL:
        assert abs(getattr(res, a) - getattr(ref, a)) < 0.002 + 4 * se, a


@pytest.mark.parametrize("name", NAMES)
def test_per_sample_invariants_and_exact_swap(name: str) -> None:
    gate = EmbeddedGate(name, dim=3, noise=0.6, amplitude=0.8, seed=2)
    x1, x2, y = gate.sample(3000, seed=1)
    res = gate.oracle(x1, x2, y)
    ps = res.per_sample
    np.testing.assert_allclose(ps["r"] + ps["u1"], ps["i1"], atol=1e-10)
    np.testing.assert_allclose(ps["r"] + ps["u2"], ps["i2"], atol=1e-10)
    np.testing.assert_allclose(ps["r"] + ps["u1"] + ps["u2"] + ps["s"], ps["i12"], atol=1e-10)
    assert abs(res.R + res.U1 + res.U2 + res.S - res.I12) < 1e-12
    assert res.band[0] - 1e-12 <= res.R <= res.band[1] + 1e-12
    # the same data with the modalities swapped (joint transposed, means swapped) swaps 1 and 2 exactly
    mu1, mu2 = gate.means
    sw = gate_oracle(gate.joint.transpose(1, 0, 2), mu2, mu1, gate.noise, x2, x1, y)
    for a, b in (("r", "r"), ("s", "s"), ("u1", "u2"), ("u2", "u1"), ("h1", "h2"), ("i1", "i2")):
        np.testing.assert_allclose(sw.per_sample[a], ps[b], atol=1e-10)


@pytest.mark.parametrize("name", ["xor", "and"])
def test_symmetric_gates_have_equal_unique_parts_within_sampling_error(name: str) -> None:
    gate = EmbeddedGate(name, dim=4, noise=0.3)
    res = gate.oracle(*gate.sample(20_000, seed=0))
    d = res.per_sample["u1_raw"] - res.per_sample["u2_raw"]
    assert abs(d.mean()) < 4 * d.std() / np.sqrt(res.n) + 1e-12
    assert (
        abs(res.I1 - res.I2)
        < 4 * (res.per_sample["i1"] - res.per_sample["i2"]).std() / np.sqrt(res.n) + 1e-12
    )


def _rdn_mi(amplitude: float, noise: float) -> float:
    """I(bit; A*b + noise*N(0, 1)), b = +-1 fair: log 2 - E H(b | t) by quadrature (1-D is enough)."""

    def integrand(t: float) -> float:
        q = scipy.special.expit(2 * amplitude * t / noise**2)
        return scipy.stats.norm.pdf(t, amplitude, noise) * (scipy.special.entr(q) + scipy.special.entr(1 - q))

    return LN2 - scipy.integrate.quad(integrand, amplitude - 12 * noise, amplitude + 12 * noise)[0]


def test_rdn_mutual_informations_match_one_dimensional_integrals() -> None:
    noise, amp = 0.8, 1.0
    gate = EmbeddedGate("rdn", dim=4, noise=noise, amplitude=amp, seed=5)
    v1, v2, y = stratified("rdn", 40_000)
    res = gate.oracle(*gate.embed(v1, v2, seed=0), y)
    ps = res.per_sample
    se = {k: ps[k].std() / np.sqrt(res.n) for k in ("i1", "i2", "i12")}
    truth1 = _rdn_mi(amp, noise)  # only the projection on the bit's direction is informative
    truth12 = _rdn_mi(amp, noise / np.sqrt(2))  # two independent views = one view with half the variance
    assert 0.1 < truth1 < truth12 < LN2
    assert abs(res.I1 - truth1) < 4 * se["i1"] and abs(res.I2 - truth1) < 4 * se["i2"]
    assert abs(res.I12 - truth12) < 4 * se["i12"]
    # I1 falls with the noise (same directions, same standard-normal draws scaled)
    values = []
    for s in (0.2, 0.5, 1.0, 2.0):
        g = EmbeddedGate("rdn", dim=4, noise=s, seed=5)
        values.append(g.oracle(*g.sample(4000, seed=0)).I1)
    assert values[0] <= LN2 + 1e-12 and all(a > b for a, b in zip(values, values[1:], strict=False))


def test_single_modalities_of_xor_and_the_second_of_unq1_carry_nothing_per_sample() -> None:
    gate = EmbeddedGate("xor", dim=2, noise=0.7)
    res = gate.oracle(*gate.sample(500, seed=0))
    assert np.abs(res.per_sample["i1"]).max() < 1e-12 and np.abs(res.per_sample["i2"]).max() < 1e-12
    gate = EmbeddedGate("unq1", dim=2, noise=0.7)
    assert np.abs(gate.oracle(*gate.sample(500, seed=0)).per_sample["i2"]).max() < 1e-12


def test_surprisal_is_that_of_the_z_scored_features() -> None:
    # independent density: the mixture written in z = x / sd coordinates, through scipy
    gate = EmbeddedGate("rdn+unq1", dim=3, noise=0.5, seed=1)
    x1, x2, y = gate.sample(20, seed=0)
    res = gate.oracle(x1, x2, y)
    p = gate.joint
    for x, mu, sd, pv, key in zip(
        (x1, x2),
        gate.means,
        gate.population_sd(),
        (p.sum(axis=(1, 2)), p.sum(axis=(0, 2))),
        ("h1", "h2"),
        strict=True,
    ):
        dens = sum(
            w * scipy.stats.multivariate_normal(m / sd, np.diag(gate.noise**2 / sd**2)).pdf(x / sd)
            for w, m in zip(pv, mu, strict=True)
        )
        np.testing.assert_allclose(res.per_sample[key], -np.log(dens), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_samples_follow_the_gate_and_the_assumed_moments(name: str) -> None:
    gate = EmbeddedGate(name, dim=4, noise=0.3, amplitude=1.5, seed=4)
    n = 20_000
    x1, x2, y = gate.sample(n, seed=0)
    assert x1.dtype == x2.dtype == np.float64 and y.dtype == np.int64
    assert x1.shape == x2.shape == (n, 4) and y.shape == (n,)
    py = gate.joint.sum(axis=(0, 1))
    freq = np.bincount(y, minlength=py.size) / n
    assert np.all(np.abs(freq - py) < 4 * np.sqrt(py * (1 - py) / n) + 1e-12)
    for x, sd, q in zip((x1, x2), gate.population_sd(), gate.directions, strict=True):
        # fair independent bits: var_j = noise^2 + amplitude^2 sum_b q_jb^2
        np.testing.assert_allclose(sd, np.sqrt(0.3**2 + 1.5**2 * (q**2).sum(axis=1)), rtol=1e-12)
        np.testing.assert_allclose(x.std(axis=0), sd, rtol=0.03)
        assert np.all(np.abs(x.mean(axis=0)) < 4 * sd / np.sqrt(n))


def test_embedding_geometry_and_seeds() -> None:
    gate = EmbeddedGate("rdn+xor", dim=5, noise=0.2, amplitude=2.0, seed=7)
    for q, mu in zip(gate.directions, gate.means, strict=True):
        np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-12)
        # value 2a+b sits at amplitude * (+-q_a +- q_b): first digit on the first direction
        np.testing.assert_allclose(mu[3] - mu[1], 2 * 2.0 * q[:, 0], atol=1e-12)
        np.testing.assert_allclose(mu[1] - mu[0], 2 * 2.0 * q[:, 1], atol=1e-12)
    v1, v2, _ = stratified("rdn+xor", 400)
    x1, x2 = gate.embed(v1, v2, seed=3)
    for x, mu, v in ((x1, gate.means[0], v1), (x2, gate.means[1], v2)):
        eps = (x - mu[v]) / gate.noise  # what is left is N(0, I) noise
        assert abs(eps.mean()) < 0.05 and abs(eps.std() - 1.0) < 0.05
    a, b = gate.sample(10, seed=1), gate.sample(10, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(gate.sample(10, seed=2)[0], a[0])
    assert not np.allclose(EmbeddedGate("rdn+xor", dim=5, seed=8).directions[0], gate.directions[0])
    assert pickle.loads(pickle.dumps(gate)) == gate
    assert EmbeddedGate("XOR").name == "xor"


@pytest.mark.parametrize("name", NAMES)
def test_truth_is_the_known_broja_decomposition(name: str) -> None:
    t = EmbeddedGate(name).truth(unit="bits")
    np.testing.assert_allclose([t.R, t.U1, t.U2, t.S], KNOWN_ATOMS_BITS[name], atol=1e-6)
    assert set(GATES.names()) == set(KNOWN_ATOMS_BITS)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="unknown gate 'nand'; choose one of: and"):
        EmbeddedGate("nand")
    with pytest.raises(InputError, match="dim=1 is too small.*dim >= 2"):
        EmbeddedGate("rdn+unq1", dim=1)
    EmbeddedGate("xor", dim=1)  # one bit per modality fits in one dimension
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError, match="noise="):
            EmbeddedGate("xor", noise=bad)
    with pytest.raises(InputError, match="amplitude="):
        EmbeddedGate("xor", amplitude=0)
    gate = EmbeddedGate("xor", dim=3)
    with pytest.raises(InputError, match="positive"):
        gate.sample(0)
    x1, x2, y = gate.sample(10)
    with pytest.raises(InputError, match=r"x1 has shape \(10, 2\).*\(10, 3\)"):
        gate.oracle(x1[:, :2], x2, y)
    with pytest.raises(InputError, match="x2 has shape"):
        gate.oracle(x1, x2[:5], y)
    with pytest.raises(InputError, match=r"y must hold .* \[0, 2\)"):
        gate.oracle(x1, x2, y + 2)
    with pytest.raises(InputError, match="v1 must hold"):
        gate.embed(np.array([0, 2]), np.array([0, 1]))
