"""`infomm compress fit / encode / decode / eval` and the codec's training loop, on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from infomm.cli.main import main
from infomm.compression.model import pad_frames
from infomm.compression.training import fit_codec, load_codec
from infomm.data import synthetic_rgbd
from infomm.data.rgbd_io import read_depth_png, read_rgb, write_depth_png, write_rgb_png

TINY = ["-o", "channels=8", "-o", "shared=4", "-o", "private=2", "-o", "batch_size=8"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("compress") / "run"
    args = [
        "compress",
        "fit",
        "--clips",
        "12",
        "--frames",
        "2",
        "--size",
        "32",
        "--epochs",
        "2",
        "--out",
        str(folder),
    ]
    assert main([*args, *TINY, "--json"]) == 0
    return folder


def test_fit_writes_both_runs_with_exact_round_trips(run, capsys):
    for folder in (run, run / "separate"):
        result = json.loads((folder / "result.json").read_text())
        assert len(result["history"]) == 2
        m = result["metrics"]
        assert m["bit_exact"] and m["frames"] == 5  # 20% of 24 frames held out
        # every stream's actual bits within a 32-bit word plus the range coder's flush of the estimate
        for row in m["per_frame"]:
            assert row["bpp_actual"]["total"] > row["bpp_estimated"]["total"]
    assert "operational_mi" in json.loads((run / "result.json").read_text())["metrics"]
    assert "operational_mi" not in json.loads((run / "separate" / "result.json").read_text())["metrics"]


def test_encode_decode_round_trip_through_files(run, tmp_path, capsys):
    clip = synthetic_rgbd(1, frames=1, size=(40, 24), seed=5)[0]  # not a multiple of 16: padded
    write_rgb_png(tmp_path / "rgb.png", clip.rgb[0])
    write_depth_png(tmp_path / "depth.png", clip.depth[0])
    code = tmp_path / "frame.immc"
    args = [
        "compress",
        "encode",
        str(run),
        "--rgb",
        str(tmp_path / "rgb.png"),
        "--depth",
        str(tmp_path / "depth.png"),
    ]
    assert main([*args, "-o", str(code), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["bytes"] == code.stat().st_size
    assert res["bpp"]["total"] == pytest.approx(8 * res["bytes"] / (40 * 24))
    assert main(["compress", "decode", str(run), str(code), "-o", str(tmp_path / "dec")]) == 0
    rgb, depth = read_rgb(tmp_path / "dec" / "rgb.png"), read_depth_png(tmp_path / "dec" / "depth.png")
    assert rgb.shape == (40, 24, 3) and depth.shape == (40, 24) and depth.dtype == np.uint16
    # the files hold exactly the eval-mode forward output, rounded to 8 bits / whole mm
    model = load_codec(run)
    r = torch.from_numpy(clip.rgb[0]).permute(2, 0, 1)[None].float() / 255
    d = torch.from_numpy(clip.depth[0].astype(np.float32))[None, None] / 1000
    with torch.no_grad():
        out = model(*pad_frames(r, d))
    want_rgb = torch.round(out.rgb[0, :, :40, :24].permute(1, 2, 0) * 255).to(torch.uint8).numpy()
    want_depth = torch.round(out.depth[0, 0, :40, :24] * 1000).numpy().astype(np.uint16)
    assert np.array_equal(rgb, want_rgb) and np.array_equal(depth, want_depth)


def test_eval_prints_both_codecs(run, capsys):
    assert main(["compress", "eval", str(run), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"joint", "separate"}
    assert res["joint"]["frames"] == 5
    assert main(["compress", "eval", str(run)]) == 0
    text = capsys.readouterr().out
    assert "PSNR-RGB" in text and "operational MI" in text


def test_bad_input_exits_2_with_one_line(run, tmp_path, capsys):
    rgb = np.zeros((16, 16, 3), np.uint8)
    write_rgb_png(tmp_path / "rgb.png", rgb)
    write_rgb_png(tmp_path / "rgb_big.png", np.zeros((32, 16, 3), np.uint8))
    write_depth_png(tmp_path / "depth.png", np.full((16, 16), 1500, np.uint16))
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "depth8.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "junk.immc").write_bytes(b"IMMC" + bytes(40))
    (tmp_path / "png.immc").write_bytes((tmp_path / "rgb.png").read_bytes())
    enc = ["compress", "encode", str(run), "-o", str(tmp_path / "x.immc")]
    cases = [
        [*enc, "--rgb", str(tmp_path / "missing.png"), "--depth", str(tmp_path / "depth.png")],
        [*enc, "--rgb", str(tmp_path / "rgb_big.png"), "--depth", str(tmp_path / "depth.png")],
        [*enc, "--rgb", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "depth8.png")],
        [*enc, "--rgb", str(tmp_path / "grey.png"), "--depth", str(tmp_path / "depth.png")],
        ["compress", "decode", str(run), str(tmp_path / "junk.immc"), "-o", str(tmp_path / "d")],
        ["compress", "decode", str(run), str(tmp_path / "png.immc"), "-o", str(tmp_path / "d")],
        ["compress", "decode", str(tmp_path), str(tmp_path / "junk.immc"), "-o", str(tmp_path / "d")],
        ["compress", "fit", "--data", "nope", "--out", str(tmp_path / "r")],
    ]
    for args in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (args, err)
    # a file from the separate codec is refused by the joint one (another model id)
    assert (
        main(
            [
                *enc[:2],
                str(run / "separate"),
                *enc[3:],
                "--rgb",
                str(tmp_path / "rgb.png"),
                "--depth",
                str(tmp_path / "depth.png"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["compress", "decode", str(run), str(tmp_path / "x.immc"), "-o", str(tmp_path / "d")]) == 2
    assert "written by model" in capsys.readouterr().err


def test_training_resumes_to_the_uninterrupted_result(tmp_path):
    torch.set_num_threads(1)
    clips = synthetic_rgbd(8, frames=2, size=(32, 32), seed=1)
    tiny = {"channels": 8, "shared": 4, "private": 2, "batch_size": 4}
    whole = fit_codec(clips, tmp_path / "whole", epochs=2, **tiny)
    fit_codec(clips, tmp_path / "cut", epochs=1, **tiny)
    resumed = fit_codec(clips, tmp_path / "cut", epochs=2, **tiny)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["loss"] for h in whole.history] == [h["loss"] for h in resumed.history]


def test_jscc_fit_and_eval_through_the_cli(tmp_path, capsys):
    torch.set_num_threads(1)
    run = tmp_path / "jscc"
    args = [
        "compress",
        "fit",
        "--channel",
        "awgn",
        "--snr",
        "0:20",
        "--clips",
        "8",
        "--frames",
        "2",
        "--size",
        "32",
    ]
    tiny = ["-o", "channels=8", "-o", "batch_size=4", "-o", "bandwidth_ratio=0.015625"]
    assert main([*args, "--epochs", "2", *tiny, "--out", str(run), "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert [r["snr_db"] for r in fitted["channels"]["awgn"]] == [0, 5, 10, 15, 20]
    assert main(["compress", "eval", str(run), "--snr", "0,20", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = res["channels"]["awgn"]
    assert [r["snr_db"] for r in rows] == [0.0, 20.0]
    assert rows[1]["psnr_rgb"] >= rows[0]["psnr_rgb"] - 0.5  # more SNR never costs much (2 epochs)
    assert main(["compress", "fit", "--channel", "awgn", "--snr", "0-20", "--out", str(tmp_path / "x")]) == 2


def test_fit_with_a_bit_budget(tmp_path, capsys):
    args = "compress fit --clips 6 --frames 2 --size 32 --epochs 1 --no-baseline".split()
    out = str(tmp_path / "b")
    assert main([*args, *TINY, "--budget", "depth=0.02", "--out", out, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)["joint"]["budgets"]["depth"]
    assert rep["budget"] == 0.02 and rep["relative_error"] == pytest.approx(rep["bpp_actual"] / 0.02 - 1)
    assert main([*args, "--budget", "depth", "--out", out]) == 2
    assert "--budget 'depth': pass STREAM=BPP" in capsys.readouterr().err
    assert main([*args, "--budget", "depth=0.1", "--channel", "awgn", "--out", out]) == 2
    assert "--budget applies to the codec" in capsys.readouterr().err


def test_clips_and_vq_through_the_cli(tmp_path, capsys):
    """--temporal --quantizer vq trains on 2-frame clips; eval reports each frame position's bits;
    decode writes one PNG pair per frame of a clip's file, equal to the model's decoded clip."""
    out = tmp_path / "clip"
    args = "compress fit --clips 6 --frames 2 --size 32 --epochs 1 --temporal --quantizer vq".split()
    assert main([*args, *TINY, "-o", "batch_size=2", "--out", str(out), "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    for kind in ("joint", "separate"):
        assert fitted[kind]["bit_exact"] and len(fitted[kind]["bpp_by_frame"]) == 2
    assert main(["compress", "eval", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["joint"]["bpp_by_frame"] == fitted["joint"]["bpp_by_frame"]
    assert main(["compress", "eval", str(out)]) == 0
    assert "bpp by frame (0: intra)" in capsys.readouterr().out
    model = load_codec(out)
    clip = synthetic_rgbd(1, frames=2, size=(32, 32), seed=9)[0]
    rgb = torch.from_numpy(clip.rgb).permute(0, 3, 1, 2)[None].float() / 255.0
    depth = torch.from_numpy(clip.depth.astype(np.float32))[None, :, None] / 1000.0
    (tmp_path / "clip.immc").write_bytes(model.compress(rgb, depth))
    assert (
        main(["compress", "decode", str(out), str(tmp_path / "clip.immc"), "-o", str(tmp_path / "dec")]) == 0
    )
    back = model.decompress((tmp_path / "clip.immc").read_bytes())
    for t in range(2):
        png = read_rgb(tmp_path / "dec" / f"rgb-{t:04d}.png")
        assert np.array_equal(png, torch.round(back["rgb"][0, t].permute(1, 2, 0) * 255).byte().numpy())
        assert read_depth_png(tmp_path / "dec" / f"depth-{t:04d}.png").shape == (32, 32)
    assert main([*args, "--quantizer", "lattice", "--out", str(tmp_path / "bad")]) == 2
    assert "quantizer='lattice'" in capsys.readouterr().err
