"""The imbalance index: linear probes read frozen encoders; IB is the largest joint-vs-alone gap."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch

from infomm.data.base import PairedDataset
from infomm.interface import InputError
from infomm.training.imbalance import ImbalanceResult, imbalance_index, probe_accuracy


def _halves(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(n)
    return idx[::2], idx[1::4], idx[3::4]


def _identity_model(*names: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(encoders={m: torch.nn.Identity() for m in names})


def test_identity_encoder_on_separable_data_probes_perfectly():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 100)
    x = np.eye(4)[y] * 6.0 + rng.normal(size=(400, 4))  # classes 6 sigma apart along the axes
    acc = probe_accuracy(_identity_model("x"), "x", {"x": torch.as_tensor(x)}, y, _halves(400))
    assert acc == 1.0


def test_noise_features_probe_at_chance():
    rng = np.random.default_rng(1)
    n, c = 4000, 4
    y = rng.integers(0, c, n)
    x = rng.normal(size=(n, 16))
    acc = probe_accuracy(_identity_model("x"), "x", {"x": x}, torch.as_tensor(y), _halves(n))
    assert abs(acc - 1 / c) < 0.05  # 1,000 test rows: standard error 0.014


def test_probe_reads_the_encoder_not_the_input():
    """A frozen encoder that keeps only a label-free coordinate hides a separable input."""
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 200)
    x = np.stack([y * 8.0 + rng.normal(size=400), rng.normal(size=400)], axis=1)
    keep_noise = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        keep_noise.weight.copy_(torch.tensor([[0.0, 1.0]]))
    model = types.SimpleNamespace(encoders={"x": keep_noise})
    assert probe_accuracy(_identity_model("x"), "x", {"x": x}, y, _halves(400)) == 1.0
    assert probe_accuracy(model, "x", {"x": x}, y, _halves(400)) < 0.65


def test_probe_refuses_bad_input():
    with pytest.raises(InputError, match="modality='z'"):
        probe_accuracy(_identity_model("x"), "z", {"x": np.zeros((4, 1))}, np.arange(4) % 2, _halves(4))
    with pytest.raises(InputError, match="splits"):
        probe_accuracy(_identity_model("x"), "x", {"x": np.zeros((4, 1))}, np.arange(4) % 2, (np.arange(4),))


@pytest.fixture(scope="module")
def toy() -> PairedDataset:
    """``a`` shows the label clearly, ``b`` weakly (3 classes)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    a = np.eye(3)[y] * 2.0 + 0.5 * rng.normal(size=(600, 3))
    b = np.eye(3)[y] * 0.7 + rng.normal(size=(600, 3))
    return PairedDataset({"a": a, "b": b}, y, "toy")


def test_imbalance_index_is_the_largest_gap_between_joint_and_alone(toy, tmp_path):
    res = imbalance_index(toy, "concat", epochs=3, seed=0, out_dir=tmp_path, batch_size=32)
    assert isinstance(res, ImbalanceResult) and res.method == "concat"
    assert set(res.joint) == set(res.alone) == {"a", "b"}
    gaps = {m: 100 * (res.joint[m] - res.alone[m]) for m in ("a", "b")}
    assert res.gaps == pytest.approx(gaps)
    assert res.ib == pytest.approx(max(abs(g) for g in gaps.values()))
    assert abs(res.gaps[res.most_affected]) == pytest.approx(res.ib)
    assert res.alone["a"] > 0.95 and res.joint["a"] > 0.95  # an easy modality probes well either way
    assert 0.4 < res.alone["b"] < 0.9  # the weak one is informative but noisy
    assert res.test["accuracy"] > 0.9 and res.test["chance"] == pytest.approx(1 / 3)
    # the three runs are kept, with one split: the unimodal runs saw one modality each
    for run in ("joint", "alone-a", "alone-b"):
        saved = json.loads((tmp_path / run / "result.json").read_text())
        assert saved["config"]["seed"] == 0 and saved["config"]["epochs"] == 3
    assert json.loads(json.dumps(res.to_dict()))["ib"] == pytest.approx(res.ib)
    alone_b = json.loads((tmp_path / "alone-b" / "result.json").read_text())
    assert alone_b["test"]["accuracy"] == pytest.approx(res.alone_test["b"])


def test_imbalance_index_refuses_one_modality(toy):
    with pytest.raises(InputError, match="at least two modalities"):
        imbalance_index(PairedDataset({"a": toy.modalities["a"]}, toy.labels))


@pytest.fixture(scope="module")
def b_concat() -> list[ImbalanceResult]:
    from infomm.data.presets import load_preset
    from infomm.training import PAPER_PROTOCOL

    return [imbalance_index(load_preset("B", seed=s), "concat", seed=s, **PAPER_PROTOCOL) for s in range(3)]


@pytest.mark.slow
def test_preset_b_image_dominates_when_trained_alone(b_concat):
    for res in b_concat:
        assert res.alone_test["image"] > res.alone_test["audio"] + 0.15, res.alone_test


@pytest.mark.slow
def test_preset_b_shows_imbalance_under_plain_concatenation(b_concat):
    """Under the papers' SGD protocol the audio encoder is the lazy one: trained jointly with the
    dominant image its probe accuracy falls well below its unimodal twin's."""
    ibs = [r.ib for r in b_concat]
    assert np.mean(ibs) >= 7.0, ibs
    assert all(r.gaps["audio"] < 0 for r in b_concat)


@pytest.mark.slow
def test_auxiliary_losses_close_the_gap_of_the_lazy_encoder_on_preset_a():
    """On A the audio (1.0 alone) fits first and the image encoder lags under concat; concat-aux
    gives every encoder its own loss, so its gap shrinks."""
    from infomm.data.presets import load_preset

    data = [load_preset("A", seed=s) for s in range(3)]
    plain = [imbalance_index(d, "concat", seed=s) for s, d in enumerate(data)]
    aux = [imbalance_index(d, "concat-aux", seed=s) for s, d in enumerate(data)]
    assert all(r.gaps["image"] < 0 for r in plain)
    assert np.mean([r.ib for r in aux]) < np.mean([r.ib for r in plain]) - 1.0
