"""One trained run of the fixed protocol (synthetic set, seed 0, default config), shared by the tests."""

from __future__ import annotations

import pytest
import torch

from infomm.cli.main import main


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``infomm codebook fit --data synthetic --seed 0`` (2000 clips, the default 30 epochs, baseline)."""
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("codebook") / "run"
    assert main(["codebook", "fit", "--data", "synthetic", "--seed", "0", "--out", str(run), "--json"]) == 0
    return run
