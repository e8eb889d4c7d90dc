"""Shared ground: result objects, registry, input validation, file loading, atomic writes, fitting."""

import math
import os

import numpy as np
import pytest
import torch

from infomm.atomic import atomic_open, write_json
from infomm.data.io import load_array
from infomm.estimators.fitting import FitConfig, fit, split_indices
from infomm.interface import Estimate, Flag, FlagCode, InputError, Spread
from infomm.registry import Registry
from infomm.validation import as_paired, as_samples


def test_estimate_units_roundtrip_and_dict():
    e = Estimate(
        value=1.0,
        method="m",
        n=10,
        train_value=2.0,
        heldout_value=1.0,
        spread=Spread.from_values("seeds", [0.9, 1.0, 1.1]),
    )
    b = e.to("bits")
    assert b.value == pytest.approx(1 / math.log(2)) and b.train_value == pytest.approx(2 / math.log(2))
    assert b.spread.low == pytest.approx(e.spread.low / math.log(2))
    assert b.to("nats").value == pytest.approx(1.0)
    d = e.with_flags(Flag(FlagCode.NEGATIVE, "neg")).to_dict()
    assert d["flags"] == [{"code": "negative", "message": "neg"}] and d["spread"]["kind"] == "seeds"
    with pytest.raises(InputError):
        e.to("dits")


def test_registry_duplicates_and_unknown():
    r = Registry("thing")
    r.register("A", 1)
    assert r.get("a") == 1 and "A" in r and len(r) == 1
    with pytest.raises(ValueError, match="already registered"):
        r.register("a", 2)
    with pytest.raises(InputError, match="choose one of: a"):
        r.get("b")


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([["a", "b"]]), "not numbers"),
        (np.zeros((2, 2, 2)), "3-D"),
        (np.zeros((0, 3)), "empty"),
        (np.array([1.0, np.inf]), "non-finite"),
        (np.zeros((1, 2)), "at least 2"),
        (None, "is None"),
        (np.array([1 + 1j, 2]), "complex"),
    ],
)
def test_as_samples_rejects_bad_input_clearly(bad, message):
    with pytest.raises(InputError, match=message):
        as_samples(bad, "x")


def test_as_paired_accepts_torch_and_lists():
    x, y = as_paired(torch.arange(4.0), [[1.0], [2.0], [3.0], [4.0]])
    assert x.shape == (4, 1) and x.dtype == np.float64 and y.shape == (4, 1)
    with pytest.raises(InputError, match="4 rows but y has 3"):
        as_paired(np.zeros(4), np.zeros(3))


def test_load_array_formats(tmp_path):
    a = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "one.npz", data=a)
    np.savez(tmp_path / "two.npz", p=a, q=a + 1)
    (tmp_path / "a.csv").write_text("u,v\n" + "\n".join(f"{r[0]},{r[1]}" for r in a) + "\n")
    for name in ("a.npy", "one.npz", "a.csv", "two.npz:q"):
        got = load_array(tmp_path / name if ":" not in name else f"{tmp_path}/{name}")
        expect = a + 1 if name.endswith(":q") else a
        assert np.array_equal(got, expect)
    with pytest.raises(InputError, match="holds 2 arrays"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(InputError, match="unsupported file type"):
        (tmp_path / "a.txt").write_text("1")
        load_array(tmp_path / "a.txt")
    (tmp_path / "ragged.csv").write_text("u,v\n1,2\n3\n")
    with pytest.raises(InputError, match="has 1 fields"):
        load_array(tmp_path / "ragged.csv")


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "r.json"
    write_json(p, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(p) as fh:
            fh.write("partial")
            raise RuntimeError("crash")
    assert p.read_text().strip().startswith("{") and '"v": 1' in p.read_text()
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


def test_split_indices_are_disjoint_and_seeded():
    tr, he = split_indices(100, 0.3, seed=1)
    assert len(he) == 30 and len(tr) == 70 and not set(tr) & set(he)
    assert np.array_equal(split_indices(100, 0.3, seed=1)[1], he)
    with pytest.raises(InputError, match="too few"):
        split_indices(3, 0.3, seed=0)


class Quadratic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def loss(self, x):
        return ((x - self.w) ** 2).mean() * self.scale

    def score(self, x):
        return -float(((x - self.w) ** 2).mean())

    scale = 1.0


def test_fit_converges_restores_best_and_stops_early():
    data = torch.full((100, 1), 2.0)
    m = Quadratic()
    res = fit(m, (data[:70],), (data[70:],), FitConfig(lr=0.2, max_epochs=200, batch_size=10, patience=5))
    assert float(m.w.detach()) == pytest.approx(2.0, abs=1e-2)
    assert res.epochs_run < 200 and res.heldout_score > -1e-3 and not res.diverged


def test_fit_detects_divergence():
    data = torch.full((100, 1), 2.0)
    m = Quadratic()
    m.scale = float("nan")
    res = fit(m, (data[:70],), (data[70:],), FitConfig(max_epochs=5, batch_size=10))
    assert res.diverged and float(m.w.detach()) == 0.0  # initial state restored


def test_fit_config_validation():
    with pytest.raises(InputError, match="heldout_fraction"):
        FitConfig(heldout_fraction=1.5).validate()
    with pytest.raises(InputError, match="batch_size"):
        FitConfig(batch_size=0).validate()


def test_with_options_sets_nested_fields_on_private_copies_and_checks_types():
    from infomm.estimators.critics import CriticConfig
    from infomm.estimators.fitting import with_options
    from infomm.estimators.neural import NeuralConfig

    base = NeuralConfig()
    cfg = with_options(base, {"hidden": 7, "lr": 1, "tau": 2}, "x", nested=("fit", "critic_config"))
    assert (cfg.critic_config.hidden, cfg.fit.lr, cfg.tau) == (7, 1.0, 2.0)
    assert base.critic_config.hidden != 7 and base.fit.lr != 1.0 and CriticConfig().hidden != 7
    for bad, message in (
        ({"lr": "abc"}, "wrong type"),
        ({"hidden": 1.5}, "wrong type"),
        ({"hiden": 1}, "unknown"),
    ):
        with pytest.raises(InputError, match=message):
            with_options(base, bad, "x", nested=("fit", "critic_config"))


def test_fit_config_rejects_unavailable_device():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InputError, match="no CUDA device"):
        FitConfig(device="cuda").validate()


def test_atomic_files_get_the_usual_permissions(tmp_path):
    """mkstemp creates 0600 files; results must be readable like any file the user writes."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    write_json(tmp_path / "r.json", {"a": 1})
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~mask
