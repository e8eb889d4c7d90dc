"""Gate gallery: exact joints, samplers and the table of known atoms agree with each other."""

from __future__ import annotations

import numpy as np
import pytest

from infomm.data.gates import GATES, KNOWN_ATOMS_BITS, gate_joint, sample_gate
from infomm.functional.pid import joint_from_codes, mutual_informations
from infomm.interface import InputError

LN2 = np.log(2.0)


def test_registry_lists_every_gate_with_known_atoms() -> None:
    assert (
        set(GATES.names())
        == set(KNOWN_ATOMS_BITS)
        >= {"xor", "and", "or", "rdn", "unq1", "copy", "sum", "rdn+unq1", "unq1+xor"}
    )


@pytest.mark.parametrize("name", sorted(KNOWN_ATOMS_BITS))
def test_joint_is_a_distribution_consistent_with_its_atoms(name: str) -> None:
    p = gate_joint(name)
    assert p.ndim == 3 and (p >= 0).all() and abs(p.sum() - 1.0) < 1e-15
    R, U1, U2, S = KNOWN_ATOMS_BITS[name]
    i1, i2, i12 = (v / LN2 for v in mutual_informations(p))
    assert abs(R + U1 - i1) < 1e-12 and abs(R + U2 - i2) < 1e-12 and abs(R + U1 + U2 + S - i12) < 1e-12


@pytest.mark.parametrize("name", sorted(KNOWN_ATOMS_BITS))
def test_samples_follow_the_exact_joint(name: str) -> None:
    x1, x2, y = sample_gate(name, 40_000, seed=0)
    assert x1.dtype == np.int64 and x1.shape == x2.shape == y.shape == (40_000,)
    p = gate_joint(name)
    emp = np.zeros_like(p)
    np.add.at(emp, (x1, x2, y), 1.0 / len(x1))
    assert np.abs(emp - p).max() < 0.01
    assert (p[x1, x2, y] > 0).all()  # never a sample outside the support
    x1b, _, _ = sample_gate(name, 40_000, seed=0)
    np.testing.assert_array_equal(x1, x1b)


def test_gate_rules() -> None:
    x1, x2, y = sample_gate("xor", 100, seed=1)
    np.testing.assert_array_equal(y, x1 ^ x2)
    x1, x2, y = sample_gate("sum", 100, seed=1)
    np.testing.assert_array_equal(y, x1 + x2)
    x1, x2, y = sample_gate("rdn", 100, seed=1)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y, x1)
    x1, x2, y = sample_gate("unq1+xor", 100, seed=1)
    np.testing.assert_array_equal(y, 2 * (x1 // 2) + ((x1 % 2) ^ x2))
    x1, x2, y = sample_gate("copy", 1000, seed=2)
    # COPY: y names the pair (x1, x2): one y per pair and one pair per y
    pairs = {(int(a), int(b), int(c)) for a, b, c in zip(x1, x2, y, strict=True)}
    assert len(pairs) == 4 == len({c for _, _, c in pairs}) == len({(a, b) for a, b, _ in pairs})
    assert joint_from_codes(x1, x2, y).shape == (2, 2, 4)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="unknown gate"):
        sample_gate("nand", 10)
    with pytest.raises(InputError, match="positive"):
        sample_gate("xor", 0)
