"""Bjontegaard deltas and the RD sweep's bookkeeping."""

from __future__ import annotations

import json

import pytest

from infomm.cli.main import main
from infomm.compression.rd import bd_rate, depth_quality_db
from infomm.interface import InputError

RATES = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
PSNR = [24.0, 26.5, 29.0, 31.0, 33.5, 35.0]


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.0, 1.3])
def test_bd_rate_of_a_scaled_curve_is_the_scale(factor):
    res = bd_rate(RATES, PSNR, [factor * r for r in RATES], PSNR)
    assert res.bd_rate == pytest.approx(factor - 1, abs=1e-12)
    assert res.quality_range == (24.0, 35.0)


def test_bd_rate_uses_only_the_shared_quality_range_and_is_antisymmetric():
    shifted = [q + 1.0 for q in PSNR]  # the test curve is 1 dB better at every rate
    ab = bd_rate(RATES, PSNR, RATES, shifted)
    ba = bd_rate(RATES, shifted, RATES, PSNR)
    assert ab.quality_range == (25.0, 35.0)
    assert ab.bd_rate < 0 < ba.bd_rate
    assert (1 + ab.bd_rate) * (1 + ba.bd_rate) == pytest.approx(1.0, abs=1e-12)


def test_bd_rate_refuses_curves_without_overlap_or_with_bad_points():
    with pytest.raises(InputError, match="share no quality range"):
        bd_rate(RATES, PSNR, RATES, [q + 20 for q in PSNR])
    with pytest.raises(InputError, match="positive"):
        bd_rate([0.0, 1.0], [20.0, 30.0], RATES, PSNR)
    with pytest.raises(InputError, match="at least 2"):
        bd_rate([1.0], [20.0], RATES, PSNR)


def test_depth_quality_axis():
    assert depth_quality_db(1000.0) == pytest.approx(0.0)
    assert depth_quality_db(10.0) == pytest.approx(40.0)


def test_rd_command_writes_points_bd_rates_and_a_plot(tmp_path, capsys):
    out = tmp_path / "rd"
    args = [
        "compress",
        "rd",
        "--clips",
        "6",
        "--frames",
        "2",
        "--size",
        "32",
        "--epochs",
        "1",
        "--lambdas",
        "0.01,0.1",
    ]
    tiny = ["-o", "channels=8", "-o", "shared=4", "-o", "private=2", "-o", "batch_size=4"]
    assert main([*args, *tiny, "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res == json.loads((out / "rd.json").read_text())
    assert (out / "rd.png").stat().st_size > 1000
    assert [p["lambda"] for p in res["points"]["joint"]] == [0.01, 0.1]
    for kind in ("joint", "separate"):
        for p, lam in zip(res["points"][kind], (0.01, 0.1), strict=True):
            on_disk = json.loads((out / f"lambda-{lam:g}" / kind / "result.json").read_text())["metrics"]
            assert p["bpp"] == on_disk["bpp_actual"]["total"]
    assert set(res["bd_rate"]) == {"rgb_psnr", "depth"}
    assert main(["compress", "rd", "--lambdas", "x", "--out", str(out)]) == 2
