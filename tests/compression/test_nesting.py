"""Nested controls: the joint codec that contains an independent one (:mod:`infomm.compression.nesting`)
computes the same function once the independent weights are embedded, learns through its
cross-modal paths, and training from it (``init=``) starts exactly where the independent codec was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from infomm.compression.model import CodecConfig, DepthVideoCodec
from infomm.compression.nesting import embed_independent, nesting_config
from infomm.compression.training import fit_codec, frames_from_clips
from infomm.data import synthetic_rgbd
from infomm.interface import InputError

TINY = {"channels": 8, "shared": 4, "private": 2}


def _trained_looking(seed: int = 0) -> DepthVideoCodec:
    """An independent codec with every weight perturbed (no zero or identity left to hide a
    wrongly placed block) and latents large enough to code several symbols."""
    torch.manual_seed(seed)
    model = DepthVideoCodec(CodecConfig(**TINY, independent=True))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        for m in ("depth", "rgb"):
            model.fusion.private[m].weight.mul_(20)
            model.fusion.shared[m][2].weight.mul_(20)
    return model.eval()


def _frames(n: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return frames_from_clips(synthetic_rgbd(n, frames=1, size=(32, 32), seed=seed))


def test_the_nesting_joint_codec_computes_what_the_independent_one_does():
    indep = _trained_looking()
    indep.update()
    joint = embed_independent(indep).eval()
    joint.update()
    assert joint.config == nesting_config(indep.config)
    assert joint.config.shared == 2 * indep.config.shared and not joint.config.independent
    rgb, depth = _frames()
    with torch.no_grad():
        a, b = indep(rgb, depth), joint(rgb, depth)
    assert torch.equal(a.rgb, b.rgb) and torch.equal(a.depth, b.depth)
    for k in a.bits:
        assert torch.allclose(a.bits[k], b.bits[k], rtol=1e-6), k
    assert float(a.bpp["total"]) > 0.01  # several symbols per latent: a real comparison
    for i in range(rgb.shape[0]):
        fa = indep.compress(rgb[i : i + 1], depth[i : i + 1])
        fb = joint.compress(rgb[i : i + 1], depth[i : i + 1])
        # the same streams; only the model id in the container differs in length
        id_len = len(joint.config.model_id) - len(indep.config.model_id)
        assert len(fb) - len(fa) == id_len
        decoded = joint.decompress(fb)
        assert torch.equal(decoded["rgb"], b.rgb[i : i + 1])


def test_the_cross_modal_paths_start_at_zero_and_learn():
    joint = embed_independent(_trained_looking())
    s = joint.config.shared // 2  # depth's part of s first, then RGB's
    w = joint.fusion.shared[0].weight
    hidden = w.shape[0] // 2
    assert torch.count_nonzero(w[:hidden, 8:]) == 0 and torch.count_nonzero(w[hidden:, :8]) == 0
    rgb_dec = joint.synthesis["rgb"][0].weight  # (2 s + private, n, 5, 5)
    assert torch.count_nonzero(rgb_dec[:s]) == 0 and torch.count_nonzero(rgb_dec[s : 2 * s]) > 0
    rgb, depth = _frames()
    out = joint(rgb, depth)
    (out.bpp["total"] + 100 * torch.mean((out.rgb - rgb) ** 2)).backward()
    assert w.grad is not None and float(w.grad[hidden:, :8].abs().sum()) > 0  # RGB's part reads depth
    assert float(rgb_dec.grad[:s].abs().sum()) > 0  # the RGB decoder reads depth's part of s


def test_only_an_independent_codec_nests():
    with pytest.raises(InputError, match="only an independent codec"):
        nesting_config(CodecConfig(**TINY))
    with pytest.raises(InputError, match="only an independent codec"):
        nesting_config(CodecConfig(**TINY, independent=True, coupled=True), coupled=True)
    with pytest.raises(InputError, match="coupled=True couples the entropy models of an independent codec"):
        CodecConfig(**TINY, coupled=True).validate()


def test_the_coupled_codec_computes_what_the_independent_one_does():
    indep = _trained_looking()
    indep.update()
    coupled = embed_independent(indep, coupled=True).eval()
    coupled.update()
    assert coupled.config == nesting_config(indep.config, coupled=True)
    assert coupled.config.model_id == "dvc-coupled-8-4-2"
    rgb, depth = _frames()
    with torch.no_grad():
        a, b = indep(rgb, depth), coupled(rgb, depth)
    assert torch.equal(a.rgb, b.rgb) and torch.equal(a.depth, b.depth)
    for k in a.bits:
        assert torch.equal(a.bits[k], b.bits[k]), k
    for i in range(rgb.shape[0]):
        fa = indep.compress(rgb[i : i + 1], depth[i : i + 1])
        fb = coupled.compress(rgb[i : i + 1], depth[i : i + 1])
        assert len(fb) - len(fa) == len(coupled.config.model_id) - len(indep.config.model_id)
        decoded = coupled.decompress(fb)
        assert torch.equal(decoded["rgb"], b.rgb[i : i + 1]) and torch.equal(
            decoded["depth"], b.depth[i : i + 1]
        )


def test_the_coupled_codec_crosses_only_in_its_entropy_models():
    """Its cross-modal weights start at zero and learn; with them nonzero, the RGB latents do not
    depend on the depth input (no path in the transforms) while the RGB bits do. In training
    (additive noise, no quantization grid) neither does the RGB image; in eval the depth's
    predicted means only shift the grid RGB's latents are rounded on (mean-shifted rounding)."""
    coupled = embed_independent(_trained_looking(), coupled=True)
    own = coupled.config.shared_slices()
    first = coupled.latent_codec.param_nets["rgb"].net[0].weight  # (hidden, 2 shared, 3, 3)
    mean_out = coupled.latent_codec.shared.mean[-1].weight
    assert torch.count_nonzero(first[:, own["depth"]]) == 0 and torch.count_nonzero(first[:, own["rgb"]]) > 0
    assert torch.count_nonzero(mean_out) == 0
    rgb, depth = _frames()
    out = coupled(rgb, depth)
    (out.bpp["total"] + 100 * torch.mean((out.rgb - rgb) ** 2)).backward()
    assert float(first.grad[:, own["depth"]].abs().sum()) > 0 and float(mean_out.grad.abs().sum()) > 0
    with torch.no_grad():
        for p in (first, mean_out):
            p.add_(0.3 * torch.randn_like(p))
    other = depth.flip(0)  # other frames' depth, the same RGB
    with torch.no_grad():
        torch.manual_seed(5)
        a = coupled(rgb, depth)
        torch.manual_seed(5)  # the same noise
        b = coupled(rgb, other)
    assert torch.equal(a.rgb, b.rgb) and not torch.equal(a.depth, b.depth)
    coupled.eval()
    with torch.no_grad():
        a, b = coupled(rgb, depth), coupled(rgb, other)
    assert not torch.allclose(a.bits["rgb"], b.bits["rgb"]) and not torch.equal(
        a.latents["shared"], b.latents["shared"]
    )
    rgb_part = slice(own["rgb"].start, own["rgb"].stop)
    assert torch.equal(a.latents["shared"][:, rgb_part], b.latents["shared"][:, rgb_part])


def test_training_from_init_starts_where_the_independent_codec_was(tmp_path):
    """lr=0: the weights do not move, so the nesting joint codec, started from an independent run,
    reports that run's held-out bits and qualities; a codec that does not nest it is refused."""
    clips = synthetic_rgbd(6, frames=2, size=(32, 32), seed=3)
    opts = {**TINY, "epochs": 1, "batch_size": 4, "seed": 0}
    start = fit_codec(clips, tmp_path / "start", independent=True, **opts)
    cfg = nesting_config(start.model.config)
    joint = fit_codec(
        clips,
        tmp_path / "joint",
        **{**opts, "shared": cfg.shared, "fusion_hidden": cfg.fusion_hidden},
        init=str(tmp_path / "start"),
        lr=0.0,
    )
    again = fit_codec(
        clips, tmp_path / "again", independent=True, **opts, init=str(tmp_path / "start"), lr=0.0
    )
    coupled = fit_codec(
        clips,
        tmp_path / "coupled",
        independent=True,
        coupled=True,
        **opts,
        init=str(tmp_path / "start"),
        lr=0.0,
    )
    for run in (joint, again, coupled):
        assert run.metrics["psnr_rgb"] == start.metrics["psnr_rgb"]
        assert run.metrics["depth_rmse_mm"] == start.metrics["depth_rmse_mm"]
        for k in ("shared", "rgb", "depth"):
            assert run.metrics["bpp_actual"][k] == start.metrics["bpp_actual"][k], k
    assert json.loads((tmp_path / "joint" / "result.json").read_text())["config"]["init"].endswith("start")
    with pytest.raises(InputError, match="cannot start.*dvc-joint-8-8-2-f16 or dvc-coupled-8-4-2"):
        fit_codec(clips, tmp_path / "bad", **opts, init=str(tmp_path / "start"))
    with pytest.raises(InputError, match="start the same codec$"):
        fit_codec(clips, tmp_path / "bad", **opts, independent=True, init=str(tmp_path / "coupled"))
    with pytest.raises(InputError, match="init='.*missing'.*does not exist"):
        fit_codec(clips, tmp_path / "bad", **opts, init=str(tmp_path / "missing"))


def test_a_nested_sweep_trains_both_codecs_from_the_same_start(tmp_path, capsys):
    """The pair's folders, settings and starting weights; the start is fitted once and read back;
    a nested pair against another baseline is refused. lr=0 keeps the weights where they start, so
    the nested pair's points are the start's: the pair differs by nothing but the cross-modal
    paths, which start at zero."""
    from infomm.cli.main import main
    from infomm.compression import rd_sweep

    clips = synthetic_rgbd(6, frames=2, size=(32, 32))
    opts = {**TINY, "epochs": 1, "batch_size": 4}
    res = rd_sweep(clips, tmp_path / "a", [0.01, 0.1], baseline="independent", nested=1, **opts)
    assert res["nested"] == 1 and list(res["points"]) == ["start", "joint", "independent"]
    cfg = json.loads((tmp_path / "a" / "lambda-0.01" / "joint-nested1" / "result.json").read_text())["config"]
    assert (
        cfg["codec"]["shared"] == 8
        and cfg["codec"]["fusion_hidden"] == 16
        and not cfg["codec"]["independent"]
    )
    assert cfg["init"] == str(tmp_path / "a" / "lambda-0.01" / "independent") and cfg["epochs"] == 1
    frozen = rd_sweep(clips, tmp_path / "b", [0.01, 0.1], baseline="independent", nested=1, **opts, lr=0.0)
    for kind in ("joint", "independent"):
        for p, q in zip(frozen["points"][kind], frozen["points"]["start"], strict=True):
            assert (p["bpp_latent"], p["psnr_rgb"], p["depth_rmse_mm"]) == (
                q["bpp_latent"],
                q["psnr_rgb"],
                q["depth_rmse_mm"],
            )
    with pytest.raises(InputError, match="nested=1 compares against baseline='independent'"):
        rd_sweep(clips, tmp_path / "c", [0.01, 0.1], nested=1, **opts)
    args = ["compress", "rd", "--data", "rgbd-synthetic", "--clips", "6", "--frames", "2", "--size", "32"]
    tiny = ["-o", "channels=8", "-o", "shared=4", "-o", "private=2", "-o", "batch_size=4", "--epochs", "1"]
    assert main([*args, *tiny, "--lambdas", "0.01,0.1", "--versus", "independent", "--nested", "1",
                 "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "fitting the independent codec (the nested pair's start) at lambda 0.01" in printed
    assert "fitting the joint codec at lambda 0.1" in printed and "BD-rate" in printed
    assert main([*args, "--nested", "2", "--out", str(tmp_path / "d")]) == 2
    assert "nested=2 compares against baseline='independent'" in capsys.readouterr().err


def _count_fits(monkeypatch: pytest.MonkeyPatch, root: Path) -> list[str]:
    """From now on, the folders (relative to ``root``) that ``rd_sweep`` fits a codec in."""
    from infomm.compression import sweep

    fitted: list[str] = []
    real = sweep.fit_codec

    def counting(clips, out_dir, **kw):
        fitted.append(str(Path(out_dir).relative_to(root)))
        return real(clips, out_dir, **kw)

    monkeypatch.setattr(sweep, "fit_codec", counting)
    return fitted


def test_a_nested_point_is_fitted_again_when_its_start_changes(tmp_path, monkeypatch):
    """A sweep run again reads back its finished points, also from a folder moved elsewhere (the
    start is known by its weights, not its path); a start whose weights changed (fitted again)
    makes the nested points trained from it stale, and only those are fitted again."""
    from infomm.compression import sweep

    clips = synthetic_rgbd(6, frames=2, size=(32, 32))
    opts = {**TINY, "epochs": 1, "batch_size": 4}
    sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, **opts)
    fitted = _count_fits(monkeypatch, tmp_path)
    sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, **opts)
    assert fitted == []
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path, moved, ignore=lambda d, names: ["moved"] if Path(d) == tmp_path else [])
    again = sweep.rd_sweep(clips, moved, [0.01, 0.1], baseline="independent", nested=1, **opts)
    assert (
        fitted == []
        and again["points"]
        == sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, **opts)["points"]
    )
    model = tmp_path / "lambda-0.01" / "independent" / "model.pt"
    model.write_bytes((tmp_path / "lambda-0.1" / "independent" / "model.pt").read_bytes())
    sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, **opts)
    assert fitted == ["lambda-0.01/joint-nested1", "lambda-0.01/independent-nested1"]


def test_a_coupled_sweep_reuses_the_nested_pairs_start(tmp_path, capsys, monkeypatch):
    """``coupled=True`` in the folder of a nested sweep fits only the coupled codec (the start and
    the nested independent codec are read back) and writes its own rd-coupled.json; lr=0: its
    points are the start's (it nests the start); it compares against the independent codec only."""
    from infomm.cli.main import main
    from infomm.compression import sweep

    clips = synthetic_rgbd(6, frames=2, size=(32, 32))
    opts = {**TINY, "epochs": 1, "batch_size": 4, "lr": 0.0}
    nested = sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, **opts)
    fitted = _count_fits(monkeypatch, tmp_path)
    res = sweep.rd_sweep(clips, tmp_path, [0.01, 0.1], baseline="independent", nested=1, coupled=True, **opts)
    assert fitted == ["lambda-0.01/coupled-nested1", "lambda-0.1/coupled-nested1"]
    assert res["coupled"] and json.loads((tmp_path / "rd.json").read_text())["points"] == nested["points"]
    assert json.loads((tmp_path / "rd-coupled.json").read_text())["points"] == res["points"]
    for p, q in zip(res["points"]["joint"], res["points"]["start"], strict=True):
        assert (p["bpp_latent"], p["psnr_rgb"], p["depth_rmse_mm"]) == (
            q["bpp_latent"],
            q["psnr_rgb"],
            q["depth_rmse_mm"],
        )
    with pytest.raises(InputError, match="coupled=True compares against baseline='independent'"):
        sweep.rd_sweep(clips, tmp_path / "c", [0.01, 0.1], coupled=True, **opts)
    args = ["compress", "rd", "--data", "rgbd-synthetic", "--clips", "6", "--frames", "2", "--size", "32"]
    tiny = ["-o", "channels=8", "-o", "shared=4", "-o", "private=2", "-o", "batch_size=4", "--epochs", "1"]
    assert main([*args, *tiny, "--lambdas", "0.01,0.1", "--versus", "independent", "--coupled",
                 "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert (
        "fitting the coupled codec at lambda 0.1" in printed and (tmp_path / "e" / "rd-coupled.json").exists()
    )
    assert (tmp_path / "e" / "lambda-0.01" / "coupled").is_dir() and not (tmp_path / "e" / "rd.json").exists()
    assert main([*args, "--coupled", "--out", str(tmp_path / "f")]) == 2
    assert (
        "--coupled compares against --versus independent (got --versus separate)" in capsys.readouterr().err
    )
