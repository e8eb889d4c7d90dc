"""Subcommand ``codebook`` of the ``infomm`` command: fit, evaluate and optimise a unified codebook.

``infomm codebook fit --data synthetic --out RUN`` pre-trains the CMG-style model and the
no-alignment baseline (a thin parser over :func:`infomm.codebook.fit_codebook`);
``infomm codebook eval RUN`` prints the cross-modal generalization table of both;
``infomm codebook toc RUN --keep 16`` re-evaluates the frozen model on its 16 best TOC channels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from infomm.cli.main import _parse_options, _show_progress, app, out
from infomm.interface import InputError

codebook_app = typer.Typer(
    help="Unified discrete codebook across modalities (CMG-style).", no_args_is_help=True
)
app.add_typer(codebook_app, name="codebook")

DATA_FILE = "data.json"
_DATA_HELP = (
    "synthetic (seeded paired sequences), avdigits (written vs spoken digit strings), or a folder of "
    "AVE / VGGSound-AVEL pre-extracted features."
)


def load_sequences(data: str, clips: int, seed: int, progress: bool = False) -> Any:
    """The paired sequences named by ``--data`` (a built-in name or a feature folder)."""
    from infomm.data import avdigit_strings, load_ave_features, synthetic_paired_sequences

    if data == "synthetic":
        return synthetic_paired_sequences(clips, seed=seed)
    if data == "avdigits":
        return avdigit_strings(clips, seed=seed, progress=progress)
    path = Path(data).expanduser()
    if path.is_dir():
        return load_ave_features(path, "all", drop_no_event=True)
    raise InputError(
        f"--data {data!r} is neither a built-in set (synthetic, avdigits) nor a folder; pass one of those "
        "or the folder of AVE / VGGSound-AVEL feature files."
    )


def _run_data(run: Path) -> Any:
    spec_path = run / DATA_FILE
    if not spec_path.exists():
        raise InputError(
            f"{str(run)!r} is not a codebook run (no {DATA_FILE}); pass a folder from `codebook fit`."
        )
    spec = json.loads(spec_path.read_text())
    return load_sequences(spec["data"], int(spec["clips"]), int(spec["seed"]))


def _result(folder: Path) -> dict[str, Any]:
    path = folder / "result.json"
    if not path.exists():
        raise InputError(
            f"{str(path)!r} does not exist; finish the run with `infomm codebook fit --out {folder}` (it resumes)."
        )
    try:
        return dict(json.loads(path.read_text()))
    except json.JSONDecodeError:
        raise InputError(f"{str(path)!r} is not valid JSON; refit the run.") from None


ROWS = (
    ("cross-modal accuracy (step)", "cross_accuracy"),
    ("cross-modal accuracy (clip)", "clip_cross_accuracy"),
    ("cross / in-modality", "ratio"),
    ("in-modality accuracy (step)", "in_accuracy"),
)


def metrics_table(title: str, columns: dict[str, dict[str, Any]]) -> Table:
    """One table: a row per metric (per direction or modality), a column per model."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    first = next(iter(columns.values()))
    for label, key in ROWS:
        for sub in first[key]:
            table.add_row(f"{label} {sub}", *(f"{c[key][sub]:.3f}" for c in columns.values()))
    for label, key in (
        ("code agreement per step", "agreement_step"),
        ("code agreement per clip", "agreement_clip"),
        ("perplexity", "perplexity"),
        ("codes used by every modality", "shared_fraction"),
    ):
        table.add_row(label, *(f"{c[key]:.3f}" for c in columns.values()))
    table.add_row("chance", *(f"{c['chance']:.3f}" for c in columns.values()))
    return table


@codebook_app.command("fit")
def fit_command(
    data: str = typer.Option("synthetic", "--data", "-d", help=_DATA_HELP),
    out_dir: Path = typer.Option(Path("infomm-codebook"), "--out", help="Run folder."),
    clips: int = typer.Option(2000, "--clips", help="Clips of a built-in set."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default: the config's)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the built-in data, the split and the training."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also train the no-alignment baseline."
    ),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="CodebookConfig field KEY=VALUE (repeatable), e.g. -o n_codes=128."
    ),
    accelerator: str = typer.Option("cpu", "--accelerator", help="cpu, gpu, auto (Lightning)."),
    devices: int = typer.Option(1, "--devices", help="Devices per node (DDP when > 1 with --strategy ddp)."),
    strategy: str = typer.Option("auto", "--strategy", help="Lightning strategy, e.g. ddp."),
    resume: bool = typer.Option(True, "--resume/--restart", help="Continue from RUN/last.ckpt if present."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Pre-train a unified codebook on paired sequences (no labels); evaluate it beside the baseline."""
    from infomm import atomic
    from infomm.codebook import fit_codebook

    if clips < 20:
        raise InputError(f"--clips {clips} must be >= 20.")
    progress = _show_progress(json_out)
    seqs = load_sequences(data, clips, seed, progress)
    options = _parse_options(option)
    if epochs is not None:
        options["epochs"] = epochs
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out_dir / DATA_FILE, {"data": data, "clips": clips, "seed": seed})
    run = fit_codebook(
        seqs,
        out_dir,
        resume=resume,
        baseline=baseline,
        seed=seed,
        progress=progress,
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        **options,
    )
    if json_out:
        out.print_json(json.dumps(_summary(run.to_dict())))
        return
    _print(run.to_dict(), seqs.name)
    out.print(f"run: {out_dir}  (model.pt, result.json, metrics.json, last.ckpt)")


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    base = result.get("baseline")
    return {
        "model": result["metrics"],
        "baseline": None if base is None else base["metrics"],
        "config": result["config"],
    }


def _print(result: dict[str, Any], name: str) -> None:
    columns = {"CMG-style": result["metrics"]}
    if result.get("baseline") is not None:
        columns["no-alignment baseline"] = result["baseline"]["metrics"]
    n = result["metrics"]["n_test_clips"]
    out.print(metrics_table(f"codebook on {name}: {n} held-out aligned clips", columns))


@codebook_app.command("eval")
def eval_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `infomm codebook fit`."),
    json_out: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Print cross-modal accuracy both ways, in-modality accuracy, agreement, perplexity and shared
    fraction of a run, with the no-alignment baseline's numbers beside them."""
    if not run_dir.is_dir():
        raise InputError(f"{str(run_dir)!r} is not a folder; pass a run folder from `infomm codebook fit`.")
    result = _result(run_dir)
    base = run_dir / "baseline"
    if result.get("baseline") is None and (base / "result.json").exists():
        result["baseline"] = _result(base)
    if json_out:
        out.print_json(json.dumps(_summary(result)))
        return
    spec = run_dir / DATA_FILE
    name = json.loads(spec.read_text())["data"] if spec.exists() else str(run_dir)
    _print(result, name)


@codebook_app.command("toc")
def toc_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `infomm codebook fit`."),
    keep: int = typer.Option(..., "--keep", "-k", help="Code channels to keep (1 .. code_dim)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Training-free codebook optimisation: re-evaluate the frozen model on its KEEP best channels."""
    from infomm import atomic
    from infomm.codebook import load_model, toc_evaluate

    if not run_dir.is_dir():
        raise InputError(f"{str(run_dir)!r} is not a folder; pass a run folder from `infomm codebook fit`.")
    model, (train, test) = load_model(run_dir)
    seqs = _run_data(run_dir)
    res = toc_evaluate(model, seqs, train, test, keep, seed=model.config.seed)
    atomic.write_json(run_dir / f"toc-keep{keep}.json", res)
    if json_out:
        out.print_json(json.dumps(res))
        return
    d = model.config.code_dim
    out.print(
        metrics_table(
            f"TOC on {run_dir}: {keep} of {d} channels kept",
            {f"all {d} channels": res["full"], f"TOC {keep}": res["toc"]},
        )
    )
    out.print(f"kept channels: {res['channels']}")
