"""Subcommand ``compress`` of the ``infomm`` command: train, encode, decode and evaluate RGB-D codecs.

``infomm compress fit --data rgbd-synthetic --lambda 0.01 --out RUN`` trains the joint codec and
(by default) the separate-coding baseline on the same frames into ``RUN/separate``;
``infomm compress encode RUN --rgb IMG --depth DEPTH.png -o FILE`` writes a real bitstream;
``infomm compress decode RUN FILE -o OUTDIR`` writes ``rgb.png`` and ``depth.png`` (uint16 mm);
``infomm compress eval RUN --data NAME_OR_PATH`` reports rate, quality and operational MI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from rich.table import Table

from infomm.cli.main import _parse_options, _show_progress, app, out
from infomm.interface import InputError

compress_app = typer.Typer(help="Joint RGB + depth compression with real bitstreams.", no_args_is_help=True)
app.add_typer(compress_app, name="compress")

DATA_FILE = "data.json"
SYNTHETIC = {"rgbd-synthetic": None, "rgbd-shuffled": "shuffled", "rgbd-positive": "positive"}
_DATA_HELP = (
    "rgbd-synthetic (seeded ray-cast clips; rgbd-shuffled / rgbd-positive are its controls), motorcycle "
    "(the Middlebury frame in scikit-image), or a folder of RGB + 16-bit depth PNGs (NYU-Depth-v2 style)."
)


def load_frames(data: str, *, clips: int = 128, frames: int = 4, size: int = 64, seed: int = 0) -> Any:
    """The RGB-D clips named by ``--data``."""
    from infomm.data import load_rgbd_folder, synthetic_rgbd
    from infomm.data.rgbd import motorcycle_frame

    if data in SYNTHETIC:
        return synthetic_rgbd(clips, frames=frames, size=(size, size), seed=seed, control=SYNTHETIC[data])  # type: ignore[arg-type]
    if data == "motorcycle":
        return [motorcycle_frame()]
    path = Path(data).expanduser()
    if path.is_dir():
        return load_rgbd_folder(path)
    raise InputError(
        f"--data {data!r} is neither a built-in set ({', '.join([*SYNTHETIC, 'motorcycle'])}) nor a folder."
    )


def _is_jscc(run_dir: Path) -> bool:
    from infomm.compression.jscc_training import FORMAT, SUPERSEDED

    result = run_dir / "result.json"
    return result.exists() and json.loads(result.read_text()).get("format") in (FORMAT, *SUPERSEDED)


def _run(run_dir: Path) -> Path:
    if not (run_dir / "model.pt").exists():
        raise InputError(
            f"{str(run_dir)!r} has no model.pt; pass a run folder written by `infomm compress fit`."
        )
    return run_dir


@compress_app.command("fit")
def fit_command(
    data: str = typer.Option("rgbd-synthetic", "--data", "-d", help=_DATA_HELP),
    lmbda: float = typer.Option(
        0.01, "--lambda", "-l", help="Rate-distortion trade-off (larger: better quality)."
    ),
    out_dir: Path = typer.Option(Path("infomm-compress"), "--out", help="Run folder."),
    clips: int = typer.Option(128, "--clips", help="Clips of a built-in synthetic set."),
    frames: int = typer.Option(4, "--frames", help="Frames per synthetic clip."),
    size: int = typer.Option(64, "--size", help="Side of the synthetic frames (multiple of 16)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default: the config's)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, the split and the training."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also train the separate-coding baseline."
    ),
    channel: str | None = typer.Option(
        None,
        "--channel",
        help="awgn or rayleigh: train the deep JSCC model (analog symbols) instead of the codec.",
    ),
    snr: str = typer.Option(
        "0:20", "--snr", help="JSCC training SNR range A:B in dB (one SNR-conditioned model)."
    ),
    csi: bool = typer.Option(
        True, "--csi/--no-csi", help="JSCC over Rayleigh: channel state known at the receiver."
    ),
    quantizer: str = typer.Option(
        "scalar", "--quantizer", help="scalar (rounding) or vq (EMA codebook, indices coded given s_hat)."
    ),
    temporal: bool = typer.Option(
        False, "--temporal", help="Code clips: frame t given frame t-1 (trains on --clip-length windows)."
    ),
    clip_length: int = typer.Option(2, "--clip-length", help="Frames per training clip of --temporal."),
    budget: list[str] | None = typer.Option(
        None,
        "--budget",
        help="Bit budget STREAM=BPP for rgb, depth, shared or total, met by dual ascent (repeatable).",
    ),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="Config field KEY=VALUE (repeatable)."
    ),
    accelerator: str = typer.Option("cpu", "--accelerator", help="cpu, gpu, auto (Lightning)."),
    devices: int = typer.Option(1, "--devices", help="Devices per node (DDP when > 1 with --strategy ddp)."),
    strategy: str = typer.Option("auto", "--strategy", help="Lightning strategy, e.g. ddp."),
    resume: bool = typer.Option(True, "--resume/--restart", help="Continue from RUN/last.ckpt if present."),
    json_out: bool = typer.Option(False, "--json", help="Print the held-out metrics as one JSON object."),
) -> None:
    """Train the joint RGB + depth codec (and the separate baseline); evaluate on held-out frames."""
    from infomm import atomic
    from infomm.compression.training import fit_codec

    clip_set = load_frames(data, clips=clips, frames=frames, size=size, seed=seed)
    options = _parse_options(option)
    if epochs is not None:
        options["epochs"] = epochs
    if quantizer != "scalar" or temporal:
        if channel is not None:
            raise InputError(
                "--quantizer / --temporal configure the digital codec; JSCC sends analog symbols."
            )
        options.update(quantizer=quantizer, temporal=temporal, clip_length=clip_length)
    if budget:
        if channel is not None:
            raise InputError("--budget applies to the codec (bits); JSCC sends analog symbols: drop one.")
        options["budgets"] = _budgets(budget)
    common: dict[str, Any] = dict(
        lmbda=lmbda,
        seed=seed,
        progress=_show_progress(json_out),
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        resume=resume,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(
        out_dir / DATA_FILE, {"data": data, "clips": clips, "frames": frames, "size": size, "seed": seed}
    )
    if channel is not None:
        _fit_jscc(clip_set, out_dir, channel, snr, csi, common, options, json_out)
        return
    chosen = sorted(set(options) & {"conditional", "independent"})
    if chosen:
        raise InputError(
            f"-o {chosen[0]}=...: fit trains the joint codec and the separate baseline; for the "
            "independent baseline use `infomm compress rd --versus independent`"
        )
    runs = {"joint": fit_codec(clip_set, out_dir, **common, **options)}
    if baseline:
        runs["separate"] = fit_codec(
            clip_set, out_dir / "separate", **common, **{**options, "conditional": False}
        )
    metrics = {k: _summary(r.metrics) for k, r in runs.items()}
    if json_out:
        out.print_json(json.dumps(metrics))
        return
    out.print(_table(f"held-out frames of {data} (lambda {lmbda})", metrics))
    out.print(f"run: {out_dir}  (model.pt, result.json, metrics.json, last.ckpt)")


def _budgets(items: list[str]) -> dict[str, float]:
    """``["depth=0.1", ...]`` -> ``{"depth": 0.1}`` (streams and values are checked by the config)."""
    out: dict[str, float] = {}
    for item in items:
        stream, sep, value = item.partition("=")
        try:
            out[stream.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--budget {item!r}: pass STREAM=BPP, e.g. --budget depth=0.1")
    return out


def _snr_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--snr {text!r}: pass a range A:B in dB, e.g. 0:20") from None
    return lo, hi


def _fit_jscc(
    clip_set: Any,
    out_dir: Path,
    channel: str,
    snr: str,
    csi: bool,
    common: dict[str, Any],
    options: dict[str, Any],
    json_out: bool,
) -> None:
    from infomm.compression.jscc_training import fit_jscc

    settings = {k: v for k, v in common.items() if k != "lmbda"}  # JSCC has no rate term
    run = fit_jscc(
        clip_set, out_dir, channel=channel, csi=csi, snr_range_db=_snr_range(snr), **settings, **options
    )
    if json_out:
        out.print_json(json.dumps(run.metrics))
        return
    out.print(_jscc_table(f"held-out frames, deep JSCC over {channel}", run.metrics))
    out.print(f"run: {out_dir}  (model.pt, result.json, metrics.json, last.ckpt)")


def _jscc_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("channel", "SNR (dB)", "PSNR-RGB (dB)", "depth RMSE (mm)"):
        table.add_column(col, justify="right")
    for name, rows in metrics["channels"].items():
        for r in rows:
            table.add_row(name, f"{r['snr_db']:g}", f"{r['psnr_rgb']:.2f}", f"{r['depth_rmse_mm']:.1f}")
    return table


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k != "per_frame"}


def _table(title: str, columns: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    rows: list[tuple[str, Any]] = [
        ("bpp total (actual)", lambda m: f"{m['bpp_actual']['total']:.4f}"),
        ("bpp total (estimated)", lambda m: f"{m['bpp_estimated']['total']:.4f}"),
        (
            "bpp shared / rgb / depth",
            lambda m: " / ".join(f"{m['bpp_actual'][k]:.4f}" for k in ("shared", "rgb", "depth")),
        ),
        ("PSNR-RGB (dB)", lambda m: f"{m['psnr_rgb']:.2f}"),
        ("depth RMSE (mm)", lambda m: f"{m['depth_rmse_mm']:.1f}"),
        ("decoded = eval forward", lambda m: "yes" if m["bit_exact"] else "NO"),
        (
            "budgets (actual vs budget)",
            lambda m: (
                ", ".join(
                    f"{k} {v['bpp_actual']:.4f} / {v['budget']:.4f} ({100 * v['relative_error']:+.1f} %)"
                    for k, v in m["budgets"].items()
                )
                if "budgets" in m
                else "-"
            ),
        ),
        (
            "bpp by frame (0: intra)",
            lambda m: " / ".join(f"{v:.4f}" for v in m["bpp_by_frame"]) if "bpp_by_frame" in m else "-",
        ),
        (
            "operational MI (bpp, depth / rgb)",
            lambda m: (
                " / ".join(f"{m['operational_mi']['bpp'][k]:.4f}" for k in ("depth", "rgb"))
                if "operational_mi" in m
                else "-"
            ),
        ),
    ]
    for label, fmt in rows:
        table.add_row(label, *(fmt(m) for m in columns.values()))
    return table


def _tensors(rgb: np.ndarray, depth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255.0
    d = torch.from_numpy(depth.astype(np.float32))[None, None] / 1000.0
    return r, d


@compress_app.command("encode")
def encode_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `infomm compress fit`."),
    rgb_path: Path = typer.Option(..., "--rgb", help="Colour image (PNG / JPEG, 3 channels)."),
    depth_path: Path = typer.Option(
        ..., "--depth", help="Depth as a 16-bit PNG in millimetres (0 = invalid)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The compressed file to write."),
    json_out: bool = typer.Option(
        False, "--json", help="Print bytes, estimated bits and bpp as one JSON object."
    ),
) -> None:
    """Encode one RGB + depth frame into a file."""
    from infomm import atomic
    from infomm.compression.model import pad_frames
    from infomm.compression.training import load_codec
    from infomm.data.rgbd_io import read_depth_png, read_rgb

    model = load_codec(_run(run_dir))
    rgb, depth = read_rgb(rgb_path), read_depth_png(depth_path)
    if rgb.shape[:2] != depth.shape:
        raise InputError(
            f"--rgb is {rgb.shape[1]}x{rgb.shape[0]} but --depth is {depth.shape[1]}x{depth.shape[0]}; pass aligned frames"
        )
    r, d = _tensors(rgb, depth)
    data = model.compress(r, d)
    with atomic.atomic_open(output, "wb") as fh:
        fh.write(data)
    with torch.no_grad():
        est = model(*pad_frames(r, d)).bits
    pixels = rgb.shape[0] * rgb.shape[1]
    bits = {k: float(v.sum()) for k, v in est.items()}
    result: dict[str, Any] = {
        "bytes": len(data),
        "bits_estimated": sum(bits.values()),
        "bpp": {
            "rgb": bits["rgb"] / pixels,
            "depth": bits["depth"] / pixels,
            "shared": bits["shared"] / pixels,
            "total": 8 * len(data) / pixels,
        },
    }
    if json_out:
        out.print_json(json.dumps(result))
        return
    out.print(
        f"{output}: {len(data)} bytes, {result['bpp']['total']:.4f} bpp ({sum(bits.values()):.0f} bits estimated)"
    )


@compress_app.command("decode")
def decode_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `infomm compress fit`."),
    file: Path = typer.Argument(..., help="A file written by `infomm compress encode`."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for rgb.png and depth.png."),
) -> None:
    """Decode a file into rgb.png (8-bit) and depth.png (16-bit mm); a clip's file into
    rgb-0000.png, depth-0000.png, ... (one pair per frame)."""
    from infomm.compression.training import load_codec
    from infomm.data.rgbd_io import write_depth_png, write_rgb_png

    model = load_codec(_run(run_dir))
    if not file.is_file():
        raise InputError(f"{str(file)!r} does not exist; pass a file written by `infomm compress encode`.")
    frame = model.decompress(file.read_bytes(), source=str(file))
    clip = frame["rgb"].dim() == 5
    rgbs = frame["rgb"][0] if clip else frame["rgb"]
    depths = frame["depth"][0] if clip else frame["depth"]
    output.mkdir(parents=True, exist_ok=True)
    names = []
    for t in range(rgbs.shape[0]):
        rgb = torch.round(rgbs[t].permute(1, 2, 0) * 255.0).to(torch.uint8).numpy()
        depth = torch.round(depths[t, 0] * 1000.0).clamp(0, 65535).to(torch.int32).numpy().astype(np.uint16)
        suffix = f"-{t:04d}" if clip else ""
        write_rgb_png(output / f"rgb{suffix}.png", rgb)
        write_depth_png(output / f"depth{suffix}.png", depth)
        names += [f"rgb{suffix}.png", f"depth{suffix}.png"]
    shown = " and ".join(names) if len(names) == 2 else f"{len(names) // 2} frames ({names[0]} ...)"
    out.print(f"wrote {shown} to {output} ({rgb.shape[1]}x{rgb.shape[0]})")


@compress_app.command("eval")
def eval_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `infomm compress fit`."),
    data: str | None = typer.Option(
        None, "--data", "-d", help=_DATA_HELP + " Default: the run's held-out frames."
    ),
    snr_list: str | None = typer.Option(
        None, "--snr", help="JSCC runs: comma-separated SNRs in dB (default 0,5,10,15,20)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Bits per pixel (estimated and actual) per modality, PSNR-RGB, depth RMSE (mm), operational MI;
    the same for the separate baseline when the run has one."""
    from infomm.compression.evaluate import evaluate_codec
    from infomm.compression.training import clip_windows, frames_from_clips, load_codec, split_items

    _run(run_dir)
    cfg = json.loads((run_dir / "result.json").read_text())["config"]

    def items(clip_set: Any) -> tuple[Any, Any]:  # what the run's model codes: frames, or clips
        if cfg.get("codec", {}).get("temporal", False):
            return clip_windows(clip_set, int(cfg.get("clip_length", 2)))
        return frames_from_clips(clip_set)

    if data is None:
        spec_path = run_dir / DATA_FILE
        spec = json.loads(spec_path.read_text()) if spec_path.exists() else None
        if spec is None:
            raise InputError(f"{str(run_dir)!r} has no {DATA_FILE}; pass --data")
        clip_set = load_frames(
            spec["data"], clips=spec["clips"], frames=spec["frames"], size=spec["size"], seed=spec["seed"]
        )
        rgb, depth = items(clip_set)
        temporal = cfg.get("codec", {}).get("temporal", False)
        _, test = split_items(
            clip_set,
            cfg["test_fraction"],
            cfg["seed"],
            split_by=cfg.get("split_by", "frames"),
            clip_length=int(cfg.get("clip_length", 2)) if temporal else None,
        )
        rgb, depth, name = rgb[test], depth[test], f"held-out frames of {spec['data']}"
    else:
        rgb, depth = items(load_frames(data))
        name = data
    if _is_jscc(run_dir):
        from infomm.compression.jscc_eval import evaluate_jscc
        from infomm.compression.jscc_training import load_jscc

        snrs = [float(x) for x in (snr_list or "0,5,10,15,20").split(",") if x.strip()]
        res = evaluate_jscc(load_jscc(run_dir), rgb, depth, snrs)
        if json_out:
            out.print_json(json.dumps(res))
        else:
            out.print(_jscc_table(f"{name}: deep JSCC", res))
        return
    columns = {"joint": _summary(evaluate_codec(load_codec(run_dir), rgb, depth))}
    if (run_dir / "separate" / "model.pt").exists():
        columns["separate"] = _summary(evaluate_codec(load_codec(run_dir / "separate"), rgb, depth))
    if json_out:
        out.print_json(json.dumps(columns))
        return
    out.print(_table(name, columns))


@compress_app.command("rd")
def rd_command(
    data: str = typer.Option("rgbd-synthetic", "--data", "-d", help=_DATA_HELP),
    out_dir: Path = typer.Option(
        Path("infomm-rd"), "--out", help="Folder: lambda-*/joint|BASELINE, rd.json, rd.png."
    ),
    baseline: str = typer.Option(
        "separate",
        "--versus",
        help="The baseline: separate (same latents, marginal models) or independent (two codecs, no path between "
        "the modalities: the baseline of the rgbd-shuffled / rgbd-positive controls).",
    ),
    nested: int = typer.Option(
        0,
        "--nested",
        help="With --versus independent: fit the independent codec, then train it and the joint codec that "
        "nests it (cross-modal weights from zero) this many more epochs from it, and compare those two.",
    ),
    coupled: bool = typer.Option(
        False,
        "--coupled",
        help="With --versus independent: the joint codec is the coupled one (the independent transforms, "
        "entropy models that read across the modalities); writes rd-coupled.json and rd-coupled.png.",
    ),
    lambdas: str = typer.Option(
        "0.0005,0.001,0.002,0.005,0.01,0.02",
        "--lambdas",
        help="Comma-separated lambdas (>= 6 for a BD-rate).",
    ),
    clips: int = typer.Option(128, "--clips", help="Clips of a built-in synthetic set."),
    frames: int = typer.Option(4, "--frames", help="Frames per synthetic clip."),
    size: int = typer.Option(64, "--size", help="Side of the synthetic frames (multiple of 16)."),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Training epochs per model (default: the config's)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, the split and the training."),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="Config field KEY=VALUE (repeatable)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print rd.json's content as one JSON object."),
) -> None:
    """Fit the joint codec and a baseline at every lambda; write RD points, BD-rates and a plot.

    The BD-rates compare the joint codec with the baseline (with --nested, the nested pair; the
    ``start`` points are the independent codec they both started from)."""
    from infomm.compression.sweep import BASELINES, rd_sweep

    if baseline not in BASELINES:
        raise InputError(f"--versus {baseline!r} is not known; use one of {', '.join(BASELINES)}")
    if coupled and baseline != "independent":
        raise InputError(f"--coupled compares against --versus independent (got --versus {baseline}); add it")

    try:
        lams = [float(x) for x in lambdas.split(",") if x.strip()]
    except ValueError:
        raise InputError(
            f"--lambdas {lambdas!r}: pass comma-separated numbers, e.g. 0.001,0.01,0.1"
        ) from None
    clip_set = load_frames(data, clips=clips, frames=frames, size=size, seed=seed)
    options = _parse_options(option)
    if epochs is not None:
        options["epochs"] = epochs
    quiet = json_out

    def progress(kind: str, lam: float) -> None:
        if not quiet:
            name = "independent codec (the nested pair's start)" if kind == "start" else f"{kind} codec"
            name = "coupled codec" if coupled and kind == "joint" else name
            out.print(f"fitting the {name} at lambda {lam:g}")

    result = rd_sweep(
        clip_set,
        out_dir,
        lams,
        baseline=baseline,
        nested=nested,
        coupled=coupled,
        on_fit=progress,
        seed=seed,
        **options,
    )
    if json_out:
        out.print_json(json.dumps(result))
        return
    table = Table(title=f"RD points on {data}", title_justify="left")
    for col in ("model", "lambda", "bpp", "PSNR-RGB (dB)", "depth RMSE (mm)"):
        table.add_column(col, justify="right")
    for kind, pts in result["points"].items():
        for p in pts:
            table.add_row(
                kind,
                f"{p['lambda']:g}",
                f"{p['bpp']:.4f}",
                f"{p['psnr_rgb']:.2f}",
                f"{p['depth_rmse_mm']:.1f}",
            )
    out.print(table)
    for axis, bd in result["bd_rate"].items():
        if bd["bd_rate"] is None:
            out.print(f"BD-rate on {axis}: not defined ({bd['reason']})")
        else:
            lo, hi = bd["quality_range_db"]
            out.print(
                f"BD-rate of {'coupled' if coupled else 'joint'} vs {baseline} on {axis}: {100 * bd['bd_rate']:+.1f} % over {lo:.2f}..{hi:.2f} dB"
            )
    name = "rd-coupled" if coupled else "rd"
    out.print(f"wrote {out_dir / f'{name}.json'} and {out_dir / f'{name}.png'}")
