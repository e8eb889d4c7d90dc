"""Subcommands ``diagnose``, ``data`` and ``bench`` of the ``infomm`` command (thin parsers over library calls)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from infomm import atomic
from infomm.cli.main import _show_progress, app, data_app, err, out
from infomm.interface import InputError

DATASETS = ("avdigits", "avdigits-fsdd")


def load_dataset(
    name: str, *, seed: int, snr: float, image_noise: float, fsdd_root: Path | None, progress: bool
):
    """Build a built-in dataset by name (``avdigits``) or AV-digits with real FSDD audio."""
    from infomm.data.avdigits import load_avdigits

    if name == "avdigits":
        return load_avdigits(audio_snr_db=snr, image_noise=image_noise, seed=seed, progress=progress)
    if name == "avdigits-fsdd":
        if fsdd_root is None:
            raise InputError(
                "--data avdigits-fsdd needs --fsdd-root FOLDER with {digit}_{speaker}_{index}.wav files."
            )
        return load_avdigits(
            audio_snr_db=snr,
            image_noise=image_noise,
            seed=seed,
            audio_source="fsdd",
            fsdd_root=fsdd_root,
            progress=progress,
        )
    raise InputError(f"--data {name!r} is not a built-in dataset; choose one of: {', '.join(DATASETS)}.")


@app.command("diagnose")
def diagnose_command(
    data: str = typer.Option("avdigits", "--data", "-d", help=f"Built-in dataset: {', '.join(DATASETS)}."),
    out_dir: Path = typer.Option(
        Path("infomm-report"), "--out", "-o", help="Folder for report.md, results.json, plots."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    snr: float = typer.Option(10.0, "--snr", help="Audio signal-to-noise ratio in dB."),
    image_noise: float = typer.Option(
        0.0, "--image-noise", help="Std of Gaussian pixel noise (pixels in [0, 1])."
    ),
    pca_dim: int = typer.Option(8, "--pca-dim", help="Principal components per modality for h and I(a; b)."),
    fsdd_root: Path | None = typer.Option(
        None, "--fsdd-root", help="Free Spoken Digit recordings (avdigits-fsdd)."
    ),
    interactions: bool = typer.Option(
        True, "--interactions/--no-interactions", help="Decompose label information into R, U1, U2, S (LSMI)."
    ),
    run: Path | None = typer.Option(
        None, "--run", help="An `infomm train` run folder: add its per-modality training dynamics."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
) -> None:
    """Report each modality's entropy, its information about the label, the information modalities share,
    and how they carry the label (redundancy, uniqueness, synergy)."""
    from infomm.diagnose import diagnose, rows

    progress = _show_progress(json_out)
    ds = load_dataset(
        data, seed=seed, snr=snr, image_noise=image_noise, fsdd_root=fsdd_root, progress=progress
    )
    rep = diagnose(
        ds, out_dir, pca_dim=pca_dim, seed=seed, progress=progress, interactions=interactions, run=run
    )
    if json_out:
        out.print_json(json.dumps(rep.to_dict()))
        return
    table = Table(
        title=f"{rep.dataset}: {rep.n} samples, {rep.n_classes} classes (nats)", title_justify="left"
    )
    for col in ("quantity", "value", "interval (repeats)", "method"):
        table.add_column(col)
    for r in rows(rep):
        table.add_row(*r)
    out.print(table)
    out.print(f"report: {rep.files['markdown']}")


@data_app.command("list")
def data_list() -> None:
    """List the tasks with known truth and the built-in datasets."""
    from infomm.data.tasks import TASKS

    table = Table(title="Tasks with known truth (infomm data sample NAME)", title_justify="left")
    table.add_column("task")
    table.add_column("truth (nats)")
    table.add_column("what")
    for name in TASKS.names():
        t = TASKS.get(name)
        table.add_row(name, f"{t.truth:.4f}", TASKS.summary(name))
    out.print(table)
    out.print(f"built-in datasets (infomm diagnose --data NAME): {', '.join(DATASETS)}")


@data_app.command("sample")
def data_sample(
    task: str = typer.Argument(..., help="Task name (see `infomm data list`)."),
    n: int = typer.Option(5000, "--n", help="Number of samples."),
    seed: int = typer.Option(0, "--seed", help="Seed."),
    out_dir: Path = typer.Option(Path("."), "--out", "-o", help="Folder for x.npy (and y.npy)."),
) -> None:
    """Draw samples of a known-truth task into x.npy / y.npy and print the truth."""
    from infomm.data.tasks import TASKS

    t = TASKS.get(task)
    drawn = t.sample(n, seed)
    arrays = {"x": drawn} if t.quantity == "entropy" else {"x": drawn[0], "y": drawn[1]}
    for key, arr in arrays.items():
        with atomic.atomic_open(out_dir / f"{key}.npy", "wb") as fh:
            np.save(fh, arr)
    out.print(
        f"{t.name}: truth {t.truth:.6f} nats; wrote {', '.join(str(out_dir / f'{k}.npy') for k in arrays)}"
    )


@data_app.command("export")
def data_export(
    name: str = typer.Argument("avdigits", help=f"Built-in dataset: {', '.join(DATASETS)}."),
    out_dir: Path = typer.Option(
        Path("."), "--out", "-o", help="Folder for one .npy per modality and labels.npy."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed."),
    snr: float = typer.Option(10.0, "--snr", help="Audio SNR in dB."),
    image_noise: float = typer.Option(0.0, "--image-noise", help="Pixel noise std."),
    fsdd_root: Path | None = typer.Option(
        None, "--fsdd-root", help="Free Spoken Digit recordings (avdigits-fsdd)."
    ),
) -> None:
    """Write a built-in dataset as flat (n, d) arrays, ready for `infomm mi`."""
    ds = load_dataset(
        name, seed=seed, snr=snr, image_noise=image_noise, fsdd_root=fsdd_root, progress=_show_progress(False)
    )
    for m in ds.modalities:
        with atomic.atomic_open(out_dir / f"{m}.npy", "wb") as fh:
            np.save(fh, ds.flat(m))
    with atomic.atomic_open(out_dir / "labels.npy", "wb") as fh:
        np.save(fh, ds.labels)
    out.print(f"wrote {', '.join(list(ds.modalities) + ['labels'])} (.npy) to {out_dir}")


@app.command("bench")
def bench_command(
    out_dir: Path = typer.Option(
        Path("infomm-bench"), "--out", "-o", help="Folder for estimators.json / .md."
    ),
    full: bool = typer.Option(
        False, "--full", help="The full study (~4 min on 2 cores) instead of a quick one."
    ),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
) -> None:
    """Run estimators on tasks with known truth and compare with scikit-learn (quick by default)."""
    from infomm.bench import render_markdown, run_benchmark

    say = None if json_out else (lambda line: err.print(line, highlight=False))
    result = run_benchmark(quick=not full, jobs=jobs, progress=say)
    data = result.to_dict()
    atomic.write_json(out_dir / "estimators.json", data)
    text = render_markdown(data)
    atomic.write_text(out_dir / "estimators.md", text)
    if json_out:
        out.print_json(json.dumps(data))
    else:
        out.print(text, markup=False, soft_wrap=True)
        out.print(f"wrote {out_dir / 'estimators.json'} and {out_dir / 'estimators.md'}")
