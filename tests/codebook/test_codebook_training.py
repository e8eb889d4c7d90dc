"""Cross-modal generalization on the synthetic set (issue targets), resume, atomic files, bad input."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
import torch

from infomm.codebook import CodebookConfig, CodebookModel, fit_codebook, load_model, split_clips
from infomm.data import PairedSequences, synthetic_paired_sequences
from infomm.interface import InputError

from .conftest import CI_CLIPS, CI_EPOCHS

torch.set_num_threads(1)


def check_targets(model: dict, base: dict) -> None:
    """The issue's table, for one run (model metrics beside its no-alignment baseline)."""
    for d in ("a->b", "b->a"):
        assert base["cross_accuracy"][d] <= 0.30
        assert model["cross_accuracy"][d] >= 0.60
        assert model["cross_accuracy"][d] >= base["cross_accuracy"][d] + 0.40
        assert model["ratio"][d] >= 0.75
    assert base["agreement_step"] <= 0.05 and base["agreement_clip"] <= 0.05
    assert model["agreement_step"] >= 0.25 and model["agreement_clip"] >= 0.45
    assert base["shared_fraction"] <= 0.05 and model["shared_fraction"] >= 0.30
    assert model["perplexity"] >= 10


def test_one_seed_meets_the_targets_beside_the_baseline(trained_run):
    result = json.loads((trained_run / "result.json").read_text())
    base = json.loads((trained_run / "baseline" / "result.json").read_text())
    assert base["config"]["align"] is False and result["config"]["align"] is True
    check_targets(result["metrics"], base["metrics"])
    assert len(result["history"]) == CI_EPOCHS
    # the baseline saw the same clips: same split, same seed
    assert result["n_test"] == base["n_test"] and base["config"]["seed"] == result["config"]["seed"]


def test_saved_model_reproduces_the_codes(trained_run):
    model, (train, test) = load_model(trained_run)
    seqs = synthetic_paired_sequences(CI_CLIPS, seed=0)
    assert np.array_equal(test, split_clips(seqs, 0.25, 0)[1])
    x = {m: torch.as_tensor(v[:8]) for m, v in seqs.modalities.items()}
    idx, vec = model.encode(x)
    assert torch.equal(vec["a"], model.vq.codebook[idx["a"]])
    # the same clip's event steps land on the same codes in both modalities far above chance (1/64)
    ev = seqs.step_labels[:8] >= 0
    assert float((idx["a"][ev] == idx["b"][ev]).float().mean()) > 0.3


def test_resume_continues_the_history_and_refuses_other_settings(tmp_path):
    seqs = synthetic_paired_sequences(120, seed=1)
    first = fit_codebook(seqs, tmp_path, epochs=2, batch_size=16, baseline=False)
    assert [h["epoch"] for h in first.history] == [1, 2]
    assert {"metrics.json", "last.ckpt", "model.pt", "result.json"} <= {p.name for p in tmp_path.iterdir()}
    assert not list(tmp_path.glob("*.tmp"))
    again = fit_codebook(seqs, tmp_path, epochs=3, batch_size=16, baseline=False)
    assert [h["epoch"] for h in again.history] == [1, 2, 3]
    assert again.history[1] == first.history[1]
    fresh = fit_codebook(seqs, tmp_path / "fresh", epochs=3, batch_size=16, baseline=False)
    assert fresh.history[2]["total"] == pytest.approx(
        again.history[2]["total"], rel=1e-5
    )  # resumed == straight
    with pytest.raises(InputError, match="n_codes"):
        fit_codebook(seqs, tmp_path, epochs=3, batch_size=16, n_codes=16, baseline=False)
    (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable"):
        fit_codebook(seqs, tmp_path, epochs=4, batch_size=16, baseline=False)


def test_three_modalities_share_one_codebook(tmp_path):
    seqs = synthetic_paired_sequences(120, seed=2)
    three = PairedSequences(
        {**seqs.modalities, "c": seqs.modalities["a"][:, :, ::-1].copy()},
        seqs.labels,
        seqs.step_labels,
        "three",
    )
    run = fit_codebook(three, tmp_path, epochs=1, batch_size=16, baseline=False)
    assert len(run.metrics["cross_accuracy"]) == 6  # every ordered pair
    assert run.model.vq.codebook.shape == (64, 32)


def test_bad_input_is_refused_with_the_fix(tmp_path):
    seqs = synthetic_paired_sequences(40, seed=0)
    with pytest.raises(InputError, match="batch_size"):
        fit_codebook(seqs, tmp_path, epochs=1, batch_size=500, baseline=False)
    with pytest.raises(InputError, match="PairedSequences"):
        fit_codebook({"a": np.zeros((4, 3, 2))}, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="temporal_kernel"):
        CodebookModel({"a": 3, "b": 3}, CodebookConfig(temporal_kernel=2))
    model = CodebookModel({"a": 3, "b": 3})
    with pytest.raises(InputError, match="shape"):
        model({"a": torch.zeros(2, 5, 4), "b": torch.zeros(2, 5, 3)})
    with pytest.raises(InputError, match="lacks modality"):
        model({"a": torch.zeros(2, 5, 3)})
    with pytest.raises(InputError, match="not_a_field"):
        fit_codebook(seqs, tmp_path, not_a_field=1)
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "nothing")


@pytest.mark.slow
def test_median_of_three_seeds_meets_the_targets(tmp_path):
    runs = []
    for seed in (0, 1, 2):
        r = fit_codebook(synthetic_paired_sequences(2000, seed=seed), tmp_path / str(seed), seed=seed)
        assert r.baseline is not None
        runs.append((r.metrics, r.baseline.metrics))

    def med(key: str, sub: str | None, which: int) -> float:
        return statistics.median(float(r[which][key] if sub is None else r[which][key][sub]) for r in runs)

    model = {k: {d: med(k, d, 0) for d in ("a->b", "b->a")} for k in ("cross_accuracy", "ratio")}
    base = {"cross_accuracy": {d: med("cross_accuracy", d, 1) for d in ("a->b", "b->a")}}
    for k in ("agreement_step", "agreement_clip", "shared_fraction", "perplexity"):
        model[k] = med(k, None, 0)  # type: ignore[assignment]
        base[k] = med(k, None, 1)  # type: ignore[assignment]
    check_targets(model, base)
