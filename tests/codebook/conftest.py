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
