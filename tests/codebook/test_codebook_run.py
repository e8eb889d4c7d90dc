"""The tests that read the one trained run of the protocol (`trained_run`): in one module, so that
pytest-xdist (``--dist loadfile``) gives them to one worker and the run is trained once."""

from __future__ import annotations

import json

import numpy as np
import torch

from infomm.cli.main import main
from infomm.codebook import load_model, split_clips
from infomm.data import synthetic_paired_sequences

from .conftest import CI_CLIPS, CI_EPOCHS, check_targets


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


def test_eval_prints_both_models_and_json(trained_run, capsys):
    assert main(["codebook", "eval", str(trained_run)]) == 0
    text = capsys.readouterr().out
    for row in (
        "cross-modal accuracy (step) a->b",
        "b->a",
        "code agreement per clip",
        "perplexity",
        "baseline",
    ):
        assert row in text
    assert main(["codebook", "eval", str(trained_run), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    on_disk = json.loads((trained_run / "result.json").read_text())["metrics"]
    assert res["model"] == on_disk and res["baseline"]["cross_accuracy"]["a->b"] <= 0.30


def test_toc_keeps_most_of_the_accuracy_without_retraining(trained_run, capsys):
    assert main(["codebook", "toc", str(trained_run), "--keep", "24", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["channels"]) == 24 and res["channels"] == sorted(res["channels"])
    scores = res["scores"]
    kept_min = min(scores[c] for c in res["channels"])
    assert all(scores[c] <= kept_min for c in range(len(scores)) if c not in res["channels"])
    assert res["full"]["cross_accuracy"]["a->b"] >= 0.60
    assert res["toc"]["cross_accuracy"]["a->b"] >= res["full"]["cross_accuracy"]["a->b"] - 0.10
    assert (trained_run / "toc-keep24.json").exists()
