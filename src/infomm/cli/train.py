"""Subcommand ``train`` of the ``infomm`` command: balanced multimodal training, one run or a comparison.

``infomm train --data avdigits --method egh --epochs 20 --out RUN`` trains one model (a thin parser
over :func:`infomm.training.train`); ``infomm train compare --methods concat,egh --seeds 3`` trains
every method with every seed and prints one table (mean +- std over seeds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from infomm.cli.main import _parse_options, _show_progress, app, out
from infomm.interface import InputError

train_app = typer.Typer(
    help="Train a multimodal model with a balancing method (or compare methods).", no_args_is_help=False
)
app.add_typer(train_app, name="train")

_DATA_HELP = "Built-in dataset: avdigits (or avdigits-fsdd with --fsdd-root)."


_PRESET_HELP = "AV-digits preset A (clean), B (hard audio), C (per-sample conflicts); overrides --snr."


# options shared by `train` and `train compare` (typer accepts one OptionInfo as the default of both)
_DATA = typer.Option("avdigits", "--data", "-d", help=_DATA_HELP)
_EPOCHS = typer.Option(20, "--epochs", help="Training epochs.")
_IMAGE_NOISE = typer.Option(0.0, "--image-noise", help="Std of Gaussian pixel noise.")
_FSDD_ROOT = typer.Option(None, "--fsdd-root", help="Free Spoken Digit recordings (avdigits-fsdd).")
_PRESET = typer.Option(None, "--preset", help=_PRESET_HELP)
_BATCH_SIZE = typer.Option(64, "--batch-size", help="Mini-batch size.")
_LR = typer.Option(1e-3, "--lr", help="Learning rate (AdamW by default).")
_ENCODER = typer.Option(
    "mlp", "--encoder", help="Encoder per modality: mlp (flattened inputs), cnn (small ResNet) or resnet18."
)


def _dataset(
    data: str,
    seed: int,
    snr: float,
    image_noise: float,
    fsdd_root: Path | None,
    progress: bool,
    preset: str | None = None,
) -> Any:
    from infomm.cli.commands import load_dataset

    if preset is not None:
        from infomm.data.presets import load_preset

        if data != "avdigits":
            raise InputError(f"--preset applies to --data avdigits, not {data!r}; drop --preset or --data.")
        return load_preset(preset, seed=seed, progress=progress)
    return load_dataset(
        data, seed=seed, snr=snr, image_noise=image_noise, fsdd_root=fsdd_root, progress=progress
    )


def _engine_options(
    epochs: int, batch_size: int, lr: float, accelerator: str, devices: int, strategy: str, encoder: str
) -> dict[str, Any]:
    return {
        "encoder": encoder,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "accelerator": accelerator,
        "devices": devices,
        "strategy": strategy,
    }


@train_app.callback(invoke_without_command=True)
def train_command(
    ctx: typer.Context,
    data: str = _DATA,
    method: str = typer.Option("concat", "--method", "-m", help="Balancing method (see --list)."),
    epochs: int = _EPOCHS,
    out_dir: Path = typer.Option(
        Path("infomm-run"), "--out", help="Run folder: metrics.json, metrics.png, last.ckpt, result.json."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, the split and the training."),
    snr: float = typer.Option(10.0, "--snr", help="Audio signal-to-noise ratio in dB (lower: harder audio)."),
    image_noise: float = _IMAGE_NOISE,
    fsdd_root: Path | None = _FSDD_ROOT,
    preset: str | None = _PRESET,
    batch_size: int = _BATCH_SIZE,
    lr: float = _LR,
    encoder: str = _ENCODER,
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="Method option KEY=VALUE (repeatable)."
    ),
    accelerator: str = typer.Option("cpu", "--accelerator", help="cpu, gpu, auto (Lightning)."),
    devices: int = typer.Option(1, "--devices", help="Devices per node (DDP when > 1 with --strategy ddp)."),
    strategy: str = typer.Option("auto", "--strategy", help="Lightning strategy, e.g. ddp."),
    resume: bool = typer.Option(True, "--resume/--restart", help="Continue from RUN/last.ckpt if present."),
    list_methods: bool = typer.Option(False, "--list", help="List the balancing methods and exit."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Train one model on a built-in dataset with a balancing method; write per-epoch metrics and a plot."""
    if ctx.invoked_subcommand is not None:
        return
    from infomm.balancing import BALANCERS
    from infomm.training import train

    if list_methods:
        for name in BALANCERS.names():
            out.print(f"{name:12s} {BALANCERS.summary(name)}")
        return
    BALANCERS.get(method)
    progress = _show_progress(json_out)
    ds = _dataset(data, seed, snr, image_noise, fsdd_root, progress, preset)
    res = train(
        ds,
        method,
        out_dir,
        method_options=_parse_options(option),
        resume=resume,
        seed=seed,
        progress=progress,
        **_engine_options(epochs, batch_size, lr, accelerator, devices, strategy, encoder),
    )
    if json_out:
        out.print_json(json.dumps(res.to_dict()))
        return
    table = Table(
        title=f"{method} on {ds.name}: test split, {int(res.test['n'])} samples", title_justify="left"
    )
    table.add_column("metric")
    table.add_column("value")
    for k, v in res.test.items():
        if k not in ("n", "log_classes"):
            table.add_row(k, f"{v:.3f}")
    table.add_row("seconds / epoch", f"{res.seconds_per_epoch:.2f}")
    out.print(table)
    out.print(f"metrics: {res.files['metrics']}  plot: {res.files.get('plot', '-')}")


@train_app.command("compare")
def compare_command(
    data: str = _DATA,
    methods: str = typer.Option("concat,concat-aux", "--methods", help="Comma-separated balancing methods."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per method (0 .. seeds-1)."),
    epochs: int = _EPOCHS,
    out_dir: Path = typer.Option(
        Path("infomm-compare"), "--out", help="Folder for one run per method and seed."
    ),
    snr: float = typer.Option(10.0, "--snr", help="Audio signal-to-noise ratio in dB."),
    image_noise: float = _IMAGE_NOISE,
    fsdd_root: Path | None = _FSDD_ROOT,
    preset: str | None = _PRESET,
    batch_size: int = _BATCH_SIZE,
    lr: float = _LR,
    encoder: str = _ENCODER,
    json_out: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
) -> None:
    """Train every method with every seed on the same data; print one table, mean +- std over seeds."""
    from infomm import atomic
    from infomm.balancing import BALANCERS
    from infomm.training import train

    names = [m.strip() for m in methods.split(",") if m.strip()]
    for m in names:
        BALANCERS.get(m)
    if seeds < 1:
        raise typer.BadParameter(f"--seeds {seeds} must be >= 1.")
    progress = _show_progress(json_out)
    ds = _dataset(data, 0, snr, image_noise, fsdd_root, progress, preset)
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in names}
    for m in names:
        for s in range(seeds):
            res = train(
                ds,
                m,
                out_dir / f"{m}-seed{s}",
                seed=s,
                progress=False,
                plot=False,
                **_engine_options(epochs, batch_size, lr, "cpu", 1, "auto", encoder),
            )
            runs[m].append({**res.test, "seconds_per_epoch": res.seconds_per_epoch})
    keys = [
        k
        for k in runs[names[0]][0]
        if k not in ("n", "chance", "log_classes") and not k.startswith("entropy/")
    ]
    summary = {
        m: {k: (float(np.mean([r[k] for r in rs])), float(np.std([r[k] for r in rs]))) for k in keys}
        for m, rs in runs.items()
    }
    atomic.write_json(
        out_dir / "compare.json",
        {"data": ds.name, "seeds": seeds, "epochs": epochs, "summary": summary, "runs": runs},
    )
    if json_out:
        out.print_json(json.dumps({"summary": summary, "seeds": seeds}))
        return
    table = Table(title=f"{ds.name}: test metrics, mean +- std over {seeds} seed(s)", title_justify="left")
    table.add_column("method")
    for k in keys:
        table.add_column(k.replace("accuracy", "acc"))
    for m in names:
        table.add_row(m, *(f"{summary[m][k][0]:.3f} +- {summary[m][k][1]:.3f}" for k in keys))
    out.print(table)
