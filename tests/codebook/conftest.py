"""One trained run of the fixed protocol (synthetic set, seed 0, default config) at a CI size,
shared by the tests."""

from __future__ import annotations

import pytest
import torch

from infomm.cli.main import main

#: the protocol's data and length in CI: 1500 clips and 15 epochs (the default 2000 clips and
#: 30 epochs take about 5 minutes on one core; benchmarks/codebook.py runs them, 3 seeds)
CI_CLIPS, CI_EPOCHS = 1500, 15


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``infomm codebook fit --data synthetic --seed 0 --clips 1500 --epochs 15`` (with the baseline)."""
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("codebook") / "run"
    args = ["codebook", "fit", "--data", "synthetic", "--seed", "0", "--out", str(run), "--json"]
    assert main([*args, "--clips", str(CI_CLIPS), "--epochs", str(CI_EPOCHS)]) == 0
    return run


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
