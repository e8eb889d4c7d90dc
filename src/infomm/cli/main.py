"""The ``infomm`` command: one typer app, a subcommand per part.

Each subcommand is a thin parser over a library call. :func:`main` takes an argument list
and returns the exit code, so tests call it without a subprocess:

    >>> main(["mi", "--list"]) == 0  # doctest: +SKIP

Exit codes: 0 success, 2 bad input (one clear line on stderr, never a traceback),
1 an unexpected internal error.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any, cast

import typer
from rich.console import Console
from rich.table import Table

from infomm.estimators.base import SpreadKind
from infomm.interface import Estimate, InputError
from infomm.validation import as_paired

app = typer.Typer(
    name="infomm",
    help="Information-theoretic multimodal learning: estimate MI and entropy, diagnose multimodal data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Built-in datasets and tasks with known truth.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _parse_options(options: list[str] | None) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in options or []:
        if "=" not in item:
            raise InputError(f"--option {item!r} must look like KEY=VALUE, e.g. --option k=5.")
        key, raw = item.split("=", 1)
        try:
            value: Any = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        parsed[key.strip()] = value
    return parsed


def _spread(spread: str | None) -> SpreadKind | None:
    if spread is None or spread == "none":
        return None
    if spread not in ("seeds", "folds", "bootstrap"):
        raise InputError(f"--spread {spread!r} is not known; use seeds, folds or bootstrap.")
    return cast(SpreadKind, spread)


def _show_progress(json_out: bool) -> bool:
    return not json_out and sys.stderr.isatty()


def _print_estimate(est: Estimate, title: str) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_row("value", f"[bold]{est.value:.4f}[/bold] {est.unit}")
    table.add_row(
        "method", est.method + (f" (chose {est.details['chosen']})" if "chosen" in est.details else "")
    )
    table.add_row("samples", str(est.n))
    if est.train_value is not None and est.heldout_value is not None:
        table.add_row("train / held-out", f"{est.train_value:.4f} / {est.heldout_value:.4f}")
    if est.spread is not None:
        table.add_row(
            f"spread ({est.spread.kind})",
            f"std {est.spread.std:.4f}, interval [{est.spread.low:.4f}, {est.spread.high:.4f}]",
        )
    out.print(table)
    for f in est.flags:
        out.print(f"[yellow]warning[/yellow] ({f.code.value}): {f.message}")


def _list_methods(registry: Any, title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("method")
    table.add_column("what it is")
    for name in registry.names():
        table.add_row(name, registry.summary(name))
    out.print(table)


@app.command("mi")
def mi_command(
    x: Path | None = typer.Argument(
        None, help="File of n rows: .npy, .npz (one array) or .csv with a header."
    ),
    y: Path | None = typer.Argument(None, help="File of n rows paired with X."),
    method: str = typer.Option("auto", "--method", "-m", help="Estimator name (see --list)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    spread: str | None = typer.Option(
        None, "--spread", help="Also measure spread: bootstrap, seeds or folds."
    ),
    repeats: int = typer.Option(10, "--repeats", help="Repetitions for --spread."),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="Method option KEY=VALUE (repeatable)."
    ),
    list_methods: bool = typer.Option(False, "--list", help="List the methods and exit."),
) -> None:
    """Estimate the mutual information I(X;Y) between paired samples."""
    from infomm.data.io import load_array
    from infomm.estimators import MI_ESTIMATORS, estimate_mi

    if list_methods:
        _list_methods(MI_ESTIMATORS, "MI methods")
        return
    if x is None or y is None:
        raise InputError("mi needs two files X and Y (or --list); see `infomm mi --help`.")
    xa, ya = as_paired(load_array(x, "X"), load_array(y, "Y"), ("X", "Y"))
    opts = _parse_options(option)
    factory = MI_ESTIMATORS.get(method)
    if _accepts(factory, "seed"):
        opts.setdefault("seed", seed)
    if _accepts(factory, "progress"):
        opts.setdefault("progress", _show_progress(json_out))
    est = estimate_mi(
        xa, ya, method, unit="bits" if bits else "nats", spread=_spread(spread), repeats=repeats, **opts
    )
    if json_out:
        out.print_json(json.dumps(est.to_dict()))
    else:
        _print_estimate(est, f"I(X;Y)  X={x.name}  Y={y.name}")


@app.command("entropy")
def entropy_command(
    x: Path | None = typer.Argument(
        None, help="File of n rows: .npy, .npz (one array) or .csv with a header."
    ),
    method: str = typer.Option("knn", "--method", "-m", help="Estimator name (see --list)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    spread: str | None = typer.Option(
        None, "--spread", help="Also measure spread: bootstrap, seeds or folds."
    ),
    repeats: int = typer.Option(10, "--repeats", help="Repetitions for --spread."),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="Method option KEY=VALUE (repeatable)."
    ),
    list_methods: bool = typer.Option(False, "--list", help="List the methods and exit."),
) -> None:
    """Estimate the differential entropy h(X)."""
    from infomm.data.io import load_array
    from infomm.estimators import ENTROPY_ESTIMATORS, estimate_entropy

    if list_methods:
        _list_methods(ENTROPY_ESTIMATORS, "Entropy methods")
        return
    if x is None:
        raise InputError("entropy needs a file X (or --list); see `infomm entropy --help`.")
    xa = load_array(x, "X")
    opts = _parse_options(option)
    factory = ENTROPY_ESTIMATORS.get(method)
    if _accepts(factory, "seed"):
        opts.setdefault("seed", seed)
    if _accepts(factory, "progress"):
        opts.setdefault("progress", _show_progress(json_out))
    est = estimate_entropy(
        xa, method, unit="bits" if bits else "nats", spread=_spread(spread), repeats=repeats, **opts
    )
    if json_out:
        out.print_json(json.dumps(est.to_dict()))
    else:
        _print_estimate(est, f"h(X)  X={x.name}")


def _accepts(factory: Any, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """(Exit, ClickException, Abort) classes of click, typer and typer's vendored click (>= 0.26)."""
    import importlib

    found: dict[str, list[type[BaseException]]] = {"Exit": [], "ClickException": [], "Abort": []}
    for module_name in ("click.exceptions", "typer", "typer.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name, classes in found.items():
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in classes:
                classes.append(cls)
    return tuple(tuple(found[name]) for name in ("Exit", "ClickException", "Abort"))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    from infomm.cli import codebook, commands, compress, pid, train  # noqa: F401  (register every subcommand)

    exit_types, usage_types, abort_types = _click_exceptions()
    try:
        app(args=argv, prog_name="infomm", standalone_mode=False)
    except InputError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    except exit_types as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except usage_types as exc:
        exc.show()  # type: ignore[attr-defined]
        return 2
    except abort_types:
        err.print("aborted")
        return 130
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] file not found: {exc.filename}", soft_wrap=True)
        return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
