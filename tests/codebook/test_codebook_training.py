"""Cross-modal generalization on the synthetic set (three seeds; one seed: ``test_codebook_run.py``),
resume, atomic files, bad input."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch

from infomm.codebook import CodebookConfig, CodebookModel, fit_codebook, load_model
from infomm.data import PairedSequences, synthetic_paired_sequences
from infomm.interface import InputError

from .conftest import check_targets

torch.set_num_threads(1)


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
