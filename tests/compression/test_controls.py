"""What the cross-modal controls rest on: the independent baseline (``CodecConfig(independent=True)``,
two codecs in one module with no path between the modalities, coded bit for bit like the joint
codec), sweeps against it that read finished points back, and held-out clips (``split_by``)."""

from __future__ import annotations

import json

import pytest
import torch

from infomm.cli.main import main
from infomm.compression import rd_sweep
from infomm.compression.latent_codecs import SHARED
from infomm.compression.model import CodecConfig, DepthVideoCodec
from infomm.compression.training import clip_windows, fit_codec, frames_from_clips, split_items
from infomm.data import synthetic_rgbd
from infomm.interface import InputError

TINY = {"channels": 8, "shared": 4, "private": 2}


def _model(**cfg) -> DepthVideoCodec:
    torch.manual_seed(0)
    model = DepthVideoCodec(CodecConfig(**{**TINY, **cfg})).eval()
    model.update()
    return model


def _latents(model: DepthVideoCodec, seed: int) -> dict[str, torch.Tensor]:
    """Latents large enough that rounding keeps them apart (an untrained model's are near 0)."""
    g = torch.Generator().manual_seed(seed)
    names = model.latent_codec.names
    widths = {SHARED: model.config.shared_total} | dict.fromkeys(names[1:], model.config.private)
    return {k: 4 * torch.randn(1, widths[k], 2, 2, generator=g) for k in names}


@pytest.mark.parametrize("conditional", [True, False])
def test_independent_codec_round_trips_bit_for_bit(conditional):
    model = _model(independent=True, conditional=conditional)
    rgb, depth = torch.rand(2, 3, 32, 32), 1 + 4 * torch.rand(2, 1, 32, 32)
    depth[:, :, :4] = 0  # invalid pixels
    out = model(rgb, depth)
    for i in range(2):
        frame = model.decompress(model.compress(rgb[i : i + 1], depth[i : i + 1]))
        assert torch.equal(frame["rgb"], out.rgb[i : i + 1])
        assert torch.equal(frame["depth"], out.depth[i : i + 1])
    assert model.config.model_id.startswith("dvc-independent")


def test_no_information_crosses_between_the_modalities():
    """Change everything RGB (its half of s, its private latent, its input): the depth bits and the
    decoded depth stay the same; the joint codec, given the same change, does not."""
    for independent in (True, False):
        model = _model(independent=independent)
        a, b = _latents(model, 0), _latents(model, 1)
        rgb_half = model.slices["rgb"]
        mixed = {k: v.clone() for k, v in a.items()}
        mixed["rgb"] = b["rgb"]
        mixed[SHARED][:, rgb_half] = b[SHARED][:, rgb_half]
        out_a, out_m = model.latent_codec(a), model.latent_codec(mixed)
        same_bits = torch.equal(out_a.likelihoods["depth"], out_m.likelihoods["depth"])
        same_depth = torch.equal(model.decode_latents(out_a.y_hat)[1], model.decode_latents(out_m.y_hat)[1])
        assert same_bits == independent and same_depth == independent
    model = _model(independent=True)
    rgb, depth = torch.rand(1, 3, 32, 32), 1 + 4 * torch.rand(1, 1, 32, 32)
    lat_a = model.encode_latents(rgb, depth)
    lat_b = model.encode_latents(torch.rand(1, 3, 32, 32), depth)
    depth_half = model.slices["depth"]
    assert torch.equal(lat_a[SHARED][:, depth_half], lat_b[SHARED][:, depth_half])
    assert not torch.equal(lat_a[SHARED][:, model.slices["rgb"]], lat_b[SHARED][:, model.slices["rgb"]])


@pytest.mark.parametrize("clip", [False, True], ids=["frames", "clips"])
def test_each_modality_s_own_bits_are_its_half_of_s_and_its_private_latent(clip):
    from infomm.compression.evaluate import evaluate_codec
    from infomm.functional.rate import bits

    model = _model(independent=True)
    g = torch.Generator().manual_seed(3)
    shape = (2, 3) if clip else (2,)
    rgb = torch.rand(*shape, 3, 32, 32, generator=g)
    depth = 1 + 4 * torch.rand(*shape, 1, 32, 32, generator=g)
    metrics = evaluate_codec(model, rgb, depth, mi_steps=1)
    with torch.no_grad():
        out = model(rgb, depth)
    frames = 3 if clip else 1
    for m, sl in model.slices.items():
        lik = out.likelihoods[SHARED]
        own = bits(lik[..., sl, :, :]).sum() + bits(out.likelihoods[m]).sum()
        want = float(own) / (2 * frames * 32 * 32)
        assert metrics["bpp_side"][m] == pytest.approx(want, rel=1e-5)
    assert metrics["bpp_side"]["depth"] != pytest.approx(metrics["bpp_side"]["rgb"])


def test_each_modality_reads_its_own_half_of_the_shared_latent():
    # as many channels per modality as the joint codec's whole s: no capacity advantage for it
    cfg = CodecConfig(shared=5, independent=True)
    assert cfg.shared_slices() == {"depth": slice(0, 5), "rgb": slice(5, 10)} and cfg.shared_total == 10
    assert CodecConfig(shared=5).shared_slices() == {"depth": slice(0, 5), "rgb": slice(0, 5)}
    joint, ind = _model(), _model(independent=True)
    for m in ("depth", "rgb"):
        assert joint.synthesis[m][0].in_channels == ind.synthesis[m][0].in_channels


@pytest.mark.parametrize("bad", [{"quantizer": "vq"}, {"temporal": True}], ids=["vq", "temporal"])
def test_independent_refuses_settings_it_does_not_support(bad):
    with pytest.raises(InputError, match="independent=True"):
        CodecConfig(**{**TINY, "independent": True, **bad}).validate()


def test_sweep_against_the_independent_baseline(tmp_path):
    clips = synthetic_rgbd(6, frames=2, size=(32, 32))
    res = rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", epochs=1, batch_size=4, **TINY)
    assert res["baseline"] == "independent" and set(res["points"]) == {"joint", "independent"}
    for p in res["points"]["independent"]:
        # each modality's own bits (its half of s + its private latent) add up to the latent bits
        assert sum(p["bpp_side"].values()) == pytest.approx(p["bpp_estimated"], rel=1e-6)
        assert p["bpp_latent"] == pytest.approx(sum(p["bpp_streams"].values()))
        assert "operational_mi_bpp" not in p  # no cross-modal conditioning to report
    assert "operational_mi_bpp" in res["points"]["joint"][0]
    with pytest.raises(InputError, match="baseline"):
        rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="shuffled")
    with pytest.raises(InputError, match="independent"):
        rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", independent=True)


def test_rd_command_versus_independent(tmp_path, capsys):
    args = ["compress", "rd", "--data", "rgbd-shuffled", "--clips", "6", "--frames", "2", "--size", "32"]
    tiny = ["-o", "channels=8", "-o", "shared=4", "-o", "private=2", "-o", "batch_size=4"]
    out = tmp_path / "rd"
    code = main(
        [*args, "--epochs", "1", "--lambdas", "0.01,0.1", "--versus", "independent", *tiny, "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for axis in ("rgb_psnr", "depth"):  # one BD-rate line per axis: a value against the baseline, or why not
        assert (
            f"BD-rate of joint vs independent on {axis}" in printed
            or f"BD-rate on {axis}: not defined" in printed
        )
    assert json.loads((out / "rd.json").read_text())["baseline"] == "independent"
    assert (out / "lambda-0.01" / "independent" / "model.pt").exists()
    assert main([*args, "--versus", "marginal", "--out", str(out)]) == 2
    assert "--versus 'marginal'" in capsys.readouterr().err
    fit = ["compress", "fit", "--clips", "6", "--frames", "2", "--size", "32", "--epochs", "1", *tiny]
    assert main([*fit, "-o", "independent=True", "--out", str(tmp_path / "fit")]) == 2
    assert "--versus independent" in capsys.readouterr().err


def test_a_sweep_run_again_reads_its_finished_points_back(tmp_path, monkeypatch):
    import infomm.compression.sweep as sweep

    clips = synthetic_rgbd(6, frames=2, size=(32, 32))
    opts = {"epochs": 1, "batch_size": 4, **TINY}
    first = rd_sweep(clips, tmp_path, [0.01, 0.1], **opts)
    calls = []
    real = sweep.fit_codec
    monkeypatch.setattr(sweep, "fit_codec", lambda *a, **k: calls.append(k) or real(*a, **k))
    again = rd_sweep(clips, tmp_path, [0.01, 0.1], progress=True, **opts)  # progress does not matter
    assert calls == [] and again["points"] == first["points"]
    with pytest.raises(InputError, match="other settings"):  # another setting: not read back
        rd_sweep(clips, tmp_path, [0.01, 0.1], **{**opts, "lr": 2e-3})
    other = synthetic_rgbd(6, frames=2, size=(32, 32), seed=1)  # other data: fitted again from scratch
    before = torch.load(tmp_path / "lambda-0.01" / "joint" / "model.pt", weights_only=False)["state_dict"]
    calls.clear()
    rd_sweep(other, tmp_path, [0.01, 0.1], **opts)
    assert len(calls) == 4 and all(k["resume"] is False for k in calls)
    after = torch.load(tmp_path / "lambda-0.01" / "joint" / "model.pt", weights_only=False)["state_dict"]
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_held_out_clips_share_no_clip_with_the_training_items():
    clips = synthetic_rgbd(10, frames=3, size=(32, 32))
    rgb, _ = frames_from_clips(clips)
    owner = [i for i, c in enumerate(clips) for _ in range(c.rgb.shape[0])]
    train, test = split_items(clips, 0.3, 0, split_by="clips")
    assert sorted([*train, *test]) == list(range(rgb.shape[0]))
    assert len({owner[i] for i in test}) == 3  # 30 % of 10 clips, every frame of each
    assert not {owner[i] for i in test} & {owner[i] for i in train}
    # windows of 2 frames: one per clip (the third frame is left over)
    win, _ = clip_windows(clips, 2)
    train, test = split_items(clips, 0.3, 0, split_by="clips", clip_length=2)
    assert sorted([*train, *test]) == list(range(win.shape[0])) and len(test) == 3
    # frames: the split the runs written before split_by existed used
    train, test = split_items(clips, 0.2, 0)
    assert len(test) == 6 and len({owner[i] for i in test}) > 1
    with pytest.raises(InputError, match="split_by"):
        split_items(clips, 0.2, 0, split_by="scenes")
    with pytest.raises(InputError, match="at least 2 clips"):
        split_items([clips[0]], 0.2, 0, split_by="clips")


def test_fit_holds_out_whole_clips(tmp_path, monkeypatch):
    import infomm.compression.training as training

    seen = []
    real = training.evaluate_codec
    monkeypatch.setattr(training, "evaluate_codec", lambda m, r, d: seen.append(r) or real(m, r, d))
    clips = synthetic_rgbd(5, frames=2, size=(32, 32))
    fit_codec(clips, tmp_path, epochs=1, batch_size=4, split_by="clips", **TINY)
    held = seen[0]
    assert held.shape[0] == 2  # one clip of 2 frames (20 % of 5 clips), both its frames
    assert any(torch.equal(held, frames_from_clips([c])[0]) for c in clips)
    with pytest.raises(InputError, match="split_by"):
        fit_codec(clips, tmp_path / "x", epochs=1, split_by="scenes")
