"""The training engine: learns what the data holds, resumes exactly, writes atomically, refuses bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from infomm.balancing import BALANCERS, Balancer
from infomm.data.base import PairedDataset
from infomm.interface import InputError
from infomm.models import LateFusion, MLPEncoder
from infomm.training import train


@pytest.fixture(scope="module")
def toy() -> PairedDataset:
    """Modality ``a`` shows the label (3 classes); ``b`` is pure noise."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    a = np.eye(3)[y] * 2.0 + 0.5 * rng.normal(size=(600, 3))
    return PairedDataset({"a": a, "b": rng.normal(size=(600, 4))}, y, "toy")


def test_learns_the_informative_modality_and_removal_shows_it(toy, tmp_path):
    res = train(toy, "concat", tmp_path, epochs=8, batch_size=32)
    t = res.test
    assert t["accuracy"] > 0.95
    assert t["accuracy/a"] > 0.95 and t["accuracy/b"] < 0.55  # heads are probes of each encoder
    assert t["accuracy_without/b"] > 0.95  # removing the noise modality costs nothing
    assert t["accuracy_without/a"] < 0.6  # removing the informative one drops towards chance (1/3)
    h = res.history[-1]
    assert h["val/entropy/b"] > h["val/entropy/a"]
    assert h["grad_norm/a"] > 0 and h["grad_norm/b"] >= 0
    assert len(res.history) == 8 and [r["epoch"] for r in res.history] == list(range(1, 9))


def test_resume_continues_exactly_and_same_seed_reproduces(toy, tmp_path):
    train(toy, "concat-aux", tmp_path / "r", epochs=2, batch_size=32)
    resumed = train(toy, "concat-aux", tmp_path / "r", epochs=4, batch_size=32)
    straight = train(toy, "concat-aux", tmp_path / "s", epochs=4, batch_size=32)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(resumed.history, straight.history, strict=True):
        assert a["loss/fused"] == pytest.approx(b["loss/fused"], rel=1e-6)
    assert resumed.test["accuracy"] == straight.test["accuracy"]
    other = train(toy, "concat-aux", tmp_path / "o", epochs=4, batch_size=32, seed=1)
    assert other.history[-1]["loss/fused"] != straight.history[-1]["loss/fused"]


@pytest.mark.parametrize("method", ["ogm-ge", "egh", "omib"])
def test_resume_is_exact_for_stateful_methods(toy, tmp_path, method):
    train(toy, method, tmp_path / "r", epochs=2, batch_size=64)
    resumed = train(toy, method, tmp_path / "r", epochs=3, batch_size=64)
    straight = train(toy, method, tmp_path / "s", epochs=3, batch_size=64)
    for a, b in zip(resumed.history, straight.history, strict=True):
        assert a["loss/a"] == pytest.approx(b["loss/a"], rel=1e-6)
        assert a["val/accuracy"] == b["val/accuracy"]


def test_files_are_complete_and_atomic(toy, tmp_path):
    res = train(toy, "concat", tmp_path, epochs=2, batch_size=64)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["epoch"] for r in saved["history"]] == [1, 2]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test"]["accuracy"] == pytest.approx(res.test["accuracy"])
    assert (tmp_path / "metrics.png").stat().st_size > 1000
    state = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["infomm_method"] == "concat" and len(state["infomm_history"]) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_or_foreign_checkpoint_is_refused(toy, tmp_path):
    train(toy, "concat", tmp_path, epochs=1)
    with pytest.raises(InputError, match="written by method 'concat', not 'concat-aux'"):
        train(toy, "concat-aux", tmp_path, epochs=2)
    (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable.*--restart"):
        train(toy, "concat", tmp_path, epochs=2)
    assert len(train(toy, "concat", tmp_path, epochs=1, resume=False).history) == 1


def test_head_gradient_decides_whether_head_losses_reach_the_encoders():
    torch.manual_seed(0)
    model = LateFusion({"a": MLPEncoder(3, 4, hidden=8)}, n_classes=2)
    x, y = {"a": torch.randn(16, 3)}, torch.randint(0, 2, (16,))
    for flag, expect_grad in ((False, False), (True, True)):
        model.zero_grad()
        model.head_gradient = flag
        out = model(x)
        torch.nn.functional.cross_entropy(out.unimodal_logits["a"], y).backward()
        enc_grad = sum(
            float(p.grad.abs().sum()) for p in model.encoders["a"].parameters() if p.grad is not None
        )
        assert (enc_grad > 0) is expect_grad


def test_balancer_hooks_run_in_order(toy, tmp_path):
    calls: list[str] = []

    class Spy(Balancer):
        name = "spy"

        def on_forward(self, out, y, epoch):
            calls.append("forward")

        def after_backward(self, out, y, epoch):
            assert all(p.grad is not None for p in self.parameters["a"])
            calls.append("backward")
            self._coefficients = {"spy/a": 1.5}

    res = train(toy, Spy(), tmp_path, epochs=1, batch_size=200)
    assert calls[:4] == ["forward", "backward", "forward", "backward"]
    assert res.history[0]["spy/a"] == 1.5


def test_bad_input(toy, tmp_path):
    with pytest.raises(InputError, match="balancing method"):
        train(toy, "nope", tmp_path)
    with pytest.raises(InputError, match="epochs"):
        train(toy, "concat", tmp_path, epochs=0)
    with pytest.raises(InputError, match="unknown option 'epoch'"):
        train(toy, "concat", tmp_path, epoch=3)
    one = PairedDataset({"a": np.zeros((10, 2)) + np.arange(10)[:, None]}, np.zeros(10, dtype=int), "one")
    with pytest.raises(InputError, match="single class"):
        train(one, "concat", tmp_path)
    with pytest.raises(InputError, match="strategy='bogus'.*use accelerator='cpu'"):
        train(toy, "concat", tmp_path / "s", epochs=1, strategy="bogus")
    assert "concat-aux" in BALANCERS.names()


def test_diagnose_adds_the_training_dynamics_of_a_run(toy, tmp_path):
    from infomm.diagnose import diagnose
    from infomm.training.report import load_run

    train(toy, "concat-aux", tmp_path / "run", epochs=3, batch_size=64)
    loaded = load_run(tmp_path / "run")
    assert loaded.method == "concat-aux" and len(loaded.history) == 3
    rep = diagnose(toy, tmp_path / "rep", pca_dim=2, seeds=2, interactions=False, run=tmp_path / "run")
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "## Training dynamics: concat-aux" in text and "| 3 |" in text
    assert (tmp_path / "rep" / "training.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert saved["training"]["test"]["accuracy"] == pytest.approx(rep.training.test["accuracy"])
    with pytest.raises(InputError, match="finished `infomm train` run"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "result.json").write_text("{")
    with pytest.raises(InputError, match="not a training result"):
        load_run(tmp_path / "bad")


def test_plot_can_be_turned_off(toy, tmp_path):
    res = train(toy, "concat", tmp_path, epochs=1, plot=False)
    assert "plot" not in res.files and not (tmp_path / "metrics.png").exists()
    assert (tmp_path / "result.json").exists()


def test_a_checkpoint_older_than_a_setting_resumes_at_its_default(tmp_path):
    """A setting the checkpoint does not record (written before it existed) counts as its default:
    an older run resumes while the new setting keeps its default, and is refused otherwise."""
    from infomm.training.engine import check_checkpoint_settings

    path = tmp_path / "last.ckpt"
    torch.save({"infomm_format": "f", "infomm_config": {"lr": 0.1, "codec": {"channels": 8}}}, path)
    defaults = {"lr": 0.001, "clip_length": 2, "codec": {"channels": 48, "temporal": False}}
    now = {"lr": 0.1, "clip_length": 2, "codec": {"channels": 8, "temporal": False}}
    check_checkpoint_settings(path, "f", now, (), "codec", defaults=defaults)
    with pytest.raises(InputError, match=r"codec: .*'temporal': False.* -> .*'temporal': True"):
        check_checkpoint_settings(
            path, "f", {**now, "codec": {"channels": 8, "temporal": True}}, (), "codec", defaults
        )
    with pytest.raises(InputError, match="clip_length: 2 -> 3"):
        check_checkpoint_settings(path, "f", {**now, "clip_length": 3}, (), "codec", defaults)
    with pytest.raises(InputError, match="other settings"):  # without defaults: every missing key differs
        check_checkpoint_settings(path, "f", now, (), "codec")
