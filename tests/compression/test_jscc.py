"""Deep JSCC (analog) of RGB-D: bandwidth, power, SNR conditioning, training, resume, the digital reference."""

from __future__ import annotations

import json
import math

import pytest
import torch

from infomm.compression.channels import finite_blocklength_bits
from infomm.compression.jscc import DepthVideoJSCC, JSCCConfig, latent_channels
from infomm.compression.jscc_eval import digital_reference, evaluate_jscc
from infomm.compression.jscc_training import FORMAT, fit_jscc, load_jscc
from infomm.compression.training import frames_from_clips, split_frames
from infomm.data import synthetic_rgbd
from infomm.interface import InputError
from infomm.training.engine import write_model_file

TINY = {"channels": 8, "bandwidth_ratio": 1 / 64}
EPOCHS = 40


def _frames(b: int, h: int = 32, w: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    depth = 0.5 + 4 * torch.rand(b, 1, h, w, generator=g)
    depth[:, :, :4] = 0.0  # a band of invalid depth
    return torch.rand(b, 3, h, w, generator=g), depth


def noiseless(z, snr_db, generator=None):
    return z


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained through AWGN at 0-20 dB (about 12 s on one thread)."""
    torch.set_num_threads(1)
    clips = synthetic_rgbd(48, frames=2, size=(32, 32), seed=0)
    folder = tmp_path_factory.mktemp("jscc") / "run"
    run = fit_jscc(
        clips,
        folder,
        epochs=EPOCHS,
        batch_size=8,
        lr=3e-3,
        w_depth=0.05,
        eval_snrs_db=(0.0, 10.0, 20.0),
        **TINY,
    )
    return run, folder, clips


def test_bandwidth_ratio_is_channel_uses_per_source_sample():
    assert [latent_channels(j / 1024) for j in (1, 3, 16)] == [2, 6, 32]
    model = DepthVideoJSCC(JSCCConfig(channels=8, bandwidth_ratio=3 / 1024)).eval()
    rgb, depth = _frames(1, 32, 48)
    with torch.no_grad():
        out = model(rgb, depth, 10.0)
    k = out.symbols[0].numel()  # real symbols
    assert (k / 2) / (4 * 32 * 48) == pytest.approx(3 / 1024)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("bandwidth_ratio", 0.3, "j / 1024"),  # C = 614.4
        ("bandwidth_ratio", 1 / 2048, "even"),  # C = 1: cannot pair into complex uses
        ("bandwidth_ratio", -1 / 64, "positive"),
        ("channel", "bsc", "awgn"),
        ("snr_range_db", (20.0, 0.0), "low <= high"),
        ("channels", 0, "integer"),
        ("depth_max_m", 0.0, "positive"),
        ("demapper_blocks", -1, "integer"),
    ],
)
def test_bad_config_names_the_field(field, value, words):
    with pytest.raises(InputError, match=field) as err:
        JSCCConfig(**{field: value}).validate()
    assert words in str(err.value)
    with pytest.raises(InputError, match=field):  # the same check reaches fit_jscc's options
        fit_jscc(synthetic_rgbd(2, frames=1, size=(16, 16)), "/nonexistent/never-written", **{field: value})


def test_bad_snr_inputs_raise():
    model = DepthVideoJSCC(JSCCConfig(**TINY))
    rgb, depth = _frames(2)
    with pytest.raises(InputError, match="snr_db"):
        model(rgb, depth, torch.tensor([0.0, 10.0, 20.0]))
    with pytest.raises(InputError, match="snrs_db"):
        evaluate_jscc(model, rgb, depth, [])


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_power_is_one_per_item_at_the_channel_input(channel):
    model = DepthVideoJSCC(JSCCConfig(channel=channel, **TINY))
    rgb, depth = _frames(3)
    rgb[0], depth[0] = 0.0, 0.0  # black, all invalid
    depth[2] *= 100.0  # far beyond depth_max_m
    for train in (True, False):
        model.train(train)
        with torch.no_grad():
            out = model(rgb, depth, torch.tensor([0.0, 7.0, 20.0]))
        power = out.symbols.pow(2).flatten(1).mean(1)
        assert torch.allclose(power, torch.ones(3), atol=1e-5)
        assert not torch.equal(out.received, out.symbols)  # and the channel did act on them


def test_the_snr_input_is_used_by_a_conditioned_model_only():
    """Through a noiseless channel the SNR reaches the output only through the AF modules."""
    rgb, depth = _frames(2)
    for conditioned in (True, False):
        torch.manual_seed(0)
        model = DepthVideoJSCC(JSCCConfig(snr_conditioned=conditioned, **TINY)).eval()
        with torch.no_grad():
            lo = model(rgb, depth, 0.0, channel=noiseless)
            hi = model(rgb, depth, 20.0, channel=noiseless)
            per_item = model(rgb, depth, torch.tensor([0.0, 20.0]), channel=noiseless)
        changed = (hi.rgb - lo.rgb).abs().max() > 1e-4 and (hi.depth - lo.depth).abs().max() > 1e-4
        assert changed == conditioned
        assert (
            (hi.symbols - lo.symbols).abs().max() > 1e-4
            if conditioned
            else torch.equal(hi.symbols, lo.symbols)
        )
        # a (B,) SNR tensor conditions each item on its own SNR
        assert torch.allclose(per_item.rgb[0], lo.rgb[0], atol=1e-6)
        assert torch.allclose(per_item.rgb[1], hi.rgb[1], atol=1e-6)


def test_the_symbols_at_a_position_span_all_c_dimensions():
    """Each position's C symbols carry C independent values: over many frames they have rank C.
    (The infomm-jscc-1 encoder squeezed them through ``channels`` = 8 < C = 32: rank <= 9.)"""
    torch.manual_seed(0)
    model = DepthVideoJSCC(JSCCConfig(**TINY)).eval()
    c = model.config.symbol_channels
    rgb, depth = _frames(4 * c, seed=1)
    with torch.no_grad():
        z = model.encode(rgb, depth, torch.full((4 * c,), 10.0))[:, :, 0, 0].double()
    s = torch.linalg.svdvals(z)
    assert int((s > 1e-6 * s[0]).sum()) == c == 32


def test_a_model_file_of_the_earlier_architecture_asks_for_a_refit(tmp_path):
    write_model_file(tmp_path / "model.pt", "infomm-jscc-1", config={}, state_dict={})
    with pytest.raises(InputError, match="earlier infomm.*infomm-jscc-1.*refit"):
        load_jscc(tmp_path)


def test_training_draws_one_snr_per_item_from_the_range():
    model = DepthVideoJSCC(JSCCConfig(snr_range_db=(5.0, 15.0), **TINY)).train()
    rgb, depth = _frames(64, 16, 16)
    torch.manual_seed(3)
    a = model(rgb, depth).snr_db
    torch.manual_seed(3)
    b = model(rgb, depth).snr_db
    assert torch.equal(a, b)  # from torch's global RNG (what the checkpoint stores)
    assert 5.0 <= float(a.min()) and float(a.max()) <= 15.0
    assert float(a.std()) > 2.0  # U(5, 15) has std 2.89


def test_evaluation_is_a_function_of_its_seed():
    torch.manual_seed(0)
    model = DepthVideoJSCC(JSCCConfig(channel="rayleigh", csi=True, **TINY)).train()
    rgb, depth = _frames(3)
    a = evaluate_jscc(model, rgb, depth, [0.0, 10.0], seed=4, batch_size=2)
    torch.manual_seed(123)  # the global RNG plays no part
    b = evaluate_jscc(model, rgb, depth, [0.0, 10.0], seed=4, batch_size=2)
    c = evaluate_jscc(model, rgb, depth, [0.0, 10.0], seed=5, batch_size=2)
    assert a == b and a != c
    assert sorted(a["channels"]) == ["awgn", "rayleigh"]
    assert model.training  # the mode is restored


def test_trained_model_gets_better_with_snr(trained):
    run, _, clips = trained
    rows = run.metrics["channels"]["awgn"]
    assert [r["snr_db"] for r in rows] == [0.0, 10.0, 20.0]
    psnr = [r["psnr_rgb"] for r in rows]
    rmse = [r["depth_rmse_mm"] for r in rows]
    assert psnr[0] < psnr[1] < psnr[2] and psnr[2] - psnr[0] > 0.5, psnr
    assert rmse[0] > rmse[1] > rmse[2] and rmse[0] - rmse[2] > 50.0, rmse
    # and training did the work: the untrained model on the same held-out frames is far worse
    rgb, depth = frames_from_clips(clips)
    _, test = split_frames(rgb.shape[0], 0.2, 0)
    torch.manual_seed(1)
    fresh = DepthVideoJSCC(JSCCConfig(**TINY))
    before = evaluate_jscc(fresh, rgb[test], depth[test], [20.0])["channels"]["awgn"][0]
    assert psnr[2] > before["psnr_rgb"] + 3.0 and rmse[2] < before["depth_rmse_mm"] - 500.0


def test_saved_run_reloads_to_the_same_model_and_numbers(trained):
    run, folder, clips = trained
    result = json.loads((folder / "result.json").read_text())
    assert result["format"] == FORMAT and len(result["history"]) == EPOCHS
    assert len(json.loads((folder / "metrics.json").read_text())["history"]) == EPOCHS
    model = load_jscc(folder)
    a, b = run.model.state_dict(), model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rgb, depth = frames_from_clips(clips)
    _, test = split_frames(rgb.shape[0], 0.2, 0)
    again = evaluate_jscc(model, rgb[test], depth[test], [0.0, 10.0, 20.0], seed=0)
    assert again == json.loads(json.dumps(run.metrics))
    with pytest.raises(InputError, match="does not exist"):
        load_jscc(folder / "missing")


def test_training_resumes_to_the_uninterrupted_result(tmp_path):
    """The SNR draws and the (Rayleigh) channel noise continue from the checkpoint's RNG state."""
    torch.set_num_threads(1)
    clips = synthetic_rgbd(8, frames=2, size=(32, 32), seed=1)
    tiny = {**TINY, "batch_size": 4, "channel": "rayleigh", "csi": False, "eval_snrs_db": (10.0,)}
    whole = fit_jscc(clips, tmp_path / "whole", epochs=2, **tiny)
    fit_jscc(clips, tmp_path / "cut", epochs=1, **tiny)
    resumed = fit_jscc(clips, tmp_path / "cut", epochs=2, **tiny)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics == whole.metrics
    with pytest.raises(InputError, match="other settings"):
        fit_jscc(clips, tmp_path / "cut", epochs=3, **{**tiny, "lr": 0.1})


def test_digital_reference_interpolates_in_log_rate():
    """With k/n = 0.025, R = 4 * 0.025 * log2(1 + SNR) = 0.1 log2(1 + SNR) bits per pixel."""
    points = [(0.4, 31.0, 40.0), (0.1, 25.0, 100.0)]  # any order
    snrs = [-5.0, 0.0, 10 * math.log10(3.0), 30.0]  # R = 0.1 log2(1.316), 0.1, 0.2, 0.1 log2(1001)
    rows = digital_reference(points, snrs, 0.025)
    assert [r["status"] for r in rows] == ["outage", "interpolated", "interpolated", "saturated"]
    assert rows[0]["psnr_rgb"] is None and rows[0]["depth_rmse_mm"] is None
    assert rows[2]["bpp"] == pytest.approx(0.2)
    # 0.2 is the geometric mean of 0.1 and 0.4: halfway in log-rate
    assert rows[2]["psnr_rgb"] == pytest.approx(28.0) and rows[2]["depth_rmse_mm"] == pytest.approx(70.0)
    assert (rows[1]["psnr_rgb"], rows[1]["depth_rmse_mm"]) == pytest.approx((25.0, 100.0))
    assert (rows[3]["psnr_rgb"], rows[3]["depth_rmse_mm"]) == pytest.approx((31.0, 40.0))
    # a worse point at a higher rate never lowers the curve: the envelope keeps the cheaper point
    worse = digital_reference([*points, (0.3, 20.0, 500.0)], [10 * math.log10(3.0)], 0.025)[0]
    assert (worse["psnr_rgb"], worse["depth_rmse_mm"]) == pytest.approx((25.0, 100.0))
    assert rows[3]["bpp"] == pytest.approx(0.1 * math.log2(1001.0))
    # one codeword per frame: the rate of a finite code, below capacity, the same RD curve
    finite = digital_reference(points, snrs, 0.025, frame_pixels=1024, error_rate=1e-3)
    for f, r, snr in zip(finite, rows, snrs, strict=True):
        assert f["bpp"] == pytest.approx(finite_blocklength_bits(snr, 0.1 * 1024, 1e-3) / 1024)
        assert f["bpp"] < r["bpp"]
        assert f["psnr_rgb"] is None or f["psnr_rgb"] <= r["psnr_rgb"]
    assert finite[1]["status"] == "outage"  # 0 dB: 0.1 bpp by capacity, less with a 102-use code
    with pytest.raises(InputError, match="frame_pixels"):
        digital_reference(points, snrs, 0.025, frame_pixels=0)
    with pytest.raises(InputError, match="codec_rd_points"):
        digital_reference([(0.0, 30.0, 10.0)], [10.0], 1 / 64)
    with pytest.raises(InputError, match="codec_rd_points"):
        digital_reference([], [10.0], 1 / 64)
