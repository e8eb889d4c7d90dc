"""Subcommand ``pid`` of the ``infomm`` command: partial information decomposition of two modalities.

``infomm pid X1 X2 Y`` splits I(X1,X2;Y) into redundancy R, uniqueness U1/U2 and synergy S
(Williams & Beer 2010, arXiv:1004.2515, Eq. 6-7), either sample by sample for continuous features
(``--method lsmi``: Yang, Wang & Hu 2025, ICML) or exactly for discrete ones from the plug-in
joint (``broja``, ``mmi``, ``imin``, ``ipm``; see :mod:`infomm.interactions.discrete`). A thin
parser over :func:`infomm.interactions.sample_level.lsmi` and
:func:`infomm.interactions.discrete.pid_from_samples`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from infomm.cli.main import _parse_options, _show_progress, app, out
from infomm.interface import InputError, Unit

#: figure formats accepted by ``--plot``
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")
#: exact measures that have per-sample (pointwise) atoms
POINTWISE_MEASURES = ("ipm",)


def _methods() -> list[str]:
    from infomm.interactions import PID_MEASURES

    return ["lsmi", *PID_MEASURES.names()]


def _check_outputs(method: str, per_sample: Path | None, plot: Path | None) -> None:
    """Refuse unusable output paths before any fitting."""
    if per_sample is not None:
        if per_sample.suffix.lower() != ".npz":
            raise InputError(
                f"--per-sample {str(per_sample)!r} must end in .npz, e.g. --per-sample atoms.npz."
            )
        if method != "lsmi" and method not in POINTWISE_MEASURES:
            raise InputError(
                f"--per-sample has no meaning for --method {method}: it defines redundancy only for the "
                "whole distribution, not per sample; use --method ipm (pointwise I±, Finn & Lizier 2018) "
                "or --method lsmi."
            )
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(
            f"--plot {str(plot)!r} has an unsupported suffix {plot.suffix or '(none)'!r}; "
            f"use one of {', '.join(PLOT_SUFFIXES)}."
        )


def load_inputs(x1: Path, x2: Path, y: Path, *, discrete: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load and validate the three files; return ``(x1 (n, d1), x2 (n, d2), labels (n,) int64)``.

    Raises :class:`InputError` (one line) for a missing or unreadable file, NaN/inf, 3-D arrays,
    different row counts, non-integer labels, a single class, and (``discrete``) non-integer features.
    """
    from infomm.data.io import load_array
    from infomm.estimators.classifier import as_labels

    a1, a2, ay = load_array(x1, "X1"), load_array(x2, "X2"), load_array(y, "Y")
    rows = (a1.shape[0], a2.shape[0], ay.shape[0])
    if len(set(rows)) > 1:
        raise InputError(
            f"X1 has {rows[0]} rows, X2 has {rows[1]} and Y has {rows[2]}; paired samples need the same "
            "number of rows (row i of each file is one sample)."
        )
    if ay.shape[1] != 1:
        raise InputError(f"Y has {ay.shape[1]} columns; pass one column of class labels.")
    flat = ay[:, 0]
    off = flat != np.round(flat)
    if off.any():
        raise InputError(
            f"Y holds non-integer values (e.g. {flat[off][0]!r} at row {int(np.argmax(off))}); infomm pid "
            "decomposes information about class labels: pass integer labels (bin a continuous target "
            "first, e.g. with np.digitize)."
        )
    labels = as_labels(ay)
    classes = np.unique(flat)
    if classes.size < 2:
        raise InputError(
            f"Y has a single class ({classes[0]:g}); there is no information to decompose: pass labels "
            "with at least two classes."
        )
    if discrete:
        for name, a in (("X1", a1), ("X2", a2)):
            bad = a != np.round(a)
            if bad.any():
                raise InputError(
                    f"{name} holds non-integer values (e.g. {a[bad][0]!r}); the exact measures need discrete "
                    "features: bin them (e.g. np.digitize with a few quantiles) or use --method lsmi."
                )
    return a1, a2, labels


def _ipm_per_sample(a1: np.ndarray, a2: np.ndarray, labels: np.ndarray, unit: Unit, path: Path) -> None:
    from infomm import atomic
    from infomm.interactions import IPM

    arrays: dict[str, Any] = IPM().pointwise_from_samples(
        a1.astype(np.int64), a2.astype(np.int64), labels, unit=unit
    )
    arrays["unit"] = np.array(unit)
    with atomic.atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _print_result(result: Any, rows: list[dict[str, Any]], title: str, k: int) -> None:
    from infomm.interactions.report import SHORT, fmt_value, top_samples
    from infomm.interactions.result import LSMIResult

    with_ci = any(r["low"] is not None for r in rows)
    with_raw = any(r["raw"] is not None for r in rows)
    table = Table(title=title, title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    if with_ci:
        table.add_column("95% CI (bootstrap)")
    if with_raw:
        table.add_column("raw", justify="right")
    table.add_column("meaning")
    for r in rows:
        cells = [r["quantity"], f"[bold]{fmt_value(r['value'])}[/bold]"]
        if with_ci:
            cells.append("" if r["low"] is None else f"[{fmt_value(r['low'])}, {fmt_value(r['high'])}]")
        if with_raw:
            cells.append(fmt_value(r["raw"]))
        cells.append(SHORT[r["quantity"]])
        table.add_row(*cells)
    out.print(table)
    if with_raw:
        out.print("raw: the I± atoms before the adjustment that moves R into the band")
    if isinstance(result, LSMIResult):
        low, high = result.band
        out.print(
            f"redundancy band (every atom >= 0): [{fmt_value(low)}, {fmt_value(high)}] {result.unit}"
            + ("  (empty)" if low > high else "")
        )
        out.print(
            f"adjusted: yes (shift {result.shift:+.4f}: the raw redundancy lay outside the band)"
            if result.clipped
            else "adjusted: no (the raw redundancy lies in the band)"
        )
        for f in result.flags:
            out.print(f"[yellow]warning[/yellow] ({f.code.value}): {f.message}")
        top = top_samples(result, k)
        if top:
            t = Table(title=f"top-{k} samples per atom (row indices)", title_justify="left")
            t.add_column("atom")
            t.add_column("samples")
            for a, idx in top.items():
                t.add_row(a, ", ".join(str(i) for i in idx))
            out.print(t)
    elif result.details.get("warning"):
        out.print(f"[yellow]warning[/yellow]: {result.details['warning']}")


@app.command("pid")
def pid_command(
    x1: Path = typer.Argument(
        ..., metavar="X1", help="Modality 1: n rows (.npy, .npz or .csv with a header)."
    ),
    x2: Path = typer.Argument(..., metavar="X2", help="Modality 2: n rows paired with X1."),
    y: Path = typer.Argument(..., metavar="Y", help="Class labels: n integers."),
    method: str = typer.Option(
        "lsmi", "--method", "-m", help="lsmi (continuous, per sample) or broja, mmi, imin, ipm (discrete)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice (lsmi, bootstrap)."),
    folds: int | None = typer.Option(None, "--folds", help="Cross-fitting folds of lsmi (default 2)."),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="lsmi option KEY=VALUE (repeatable), e.g. -o hidden=32."
    ),
    per_sample: Path | None = typer.Option(
        None, "--per-sample", help="Write the per-sample atoms to this .npz (lsmi, ipm)."
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write the figure to this file (.png, .pdf, .svg)."
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", help="Bootstrap resamples for the lsmi intervals (0: none)."
    ),
    top: int = typer.Option(5, "--top", help="Sample indices listed per atom (lsmi)."),
) -> None:
    """Split I(X1,X2;Y) into redundancy R, uniqueness U1, U2 and synergy S."""
    method = method.lower()
    if method not in _methods():
        raise InputError(f"unknown PID method {method!r}; choose one of: {', '.join(_methods())}.")
    if bootstrap < 0:
        raise InputError(f"--bootstrap {bootstrap} must be >= 0 (0 skips the intervals).")
    if top < 0:
        raise InputError(f"--top {top} must be >= 0.")
    opts = _parse_options(option)
    if method != "lsmi" and (opts or folds is not None):
        raise InputError(f"--folds and -o apply to --method lsmi only; --method {method} has no options.")
    _check_outputs(method, per_sample, plot)
    unit: Unit = "bits" if bits else "nats"
    a1, a2, labels = load_inputs(x1, x2, y, discrete=method != "lsmi")

    result: Any
    if method == "lsmi":
        from infomm.interactions.sample_level import lsmi

        if folds is not None:
            opts.setdefault("folds", folds)
        opts.setdefault("seed", seed)
        opts.setdefault("progress", _show_progress(json_out))
        result = lsmi(a1, a2, labels, **opts).to(unit)
        if per_sample is not None:
            result.save_per_sample(per_sample)
    else:
        from infomm.interactions import pid_from_samples

        result = pid_from_samples(a1.astype(np.int64), a2.astype(np.int64), labels, method, unit=unit)
        if per_sample is not None:
            _ipm_per_sample(a1, a2, labels, unit, per_sample)
    if plot is not None:
        from infomm.interactions.plots import plot_interactions

        plot_interactions(result, plot)

    from infomm.interactions.report import interaction_table, top_samples

    rows = interaction_table(result, bootstrap=bootstrap, seed=seed)
    written = {k: str(v) for k, v in (("per_sample", per_sample), ("plot", plot)) if v is not None}
    if json_out:
        data = result.to_dict()
        if any(r["low"] is not None for r in rows):
            data["intervals"] = {r["quantity"]: [r["low"], r["high"]] for r in rows}
            data["level"] = 0.95
        top_idx = top_samples(result, top)
        if top_idx:
            data["top"] = top_idx
        data["files"] = written
        out.print_json(json.dumps(data))
        return
    n = result.n if method == "lsmi" else result.details.get("n")
    _print_result(
        result, rows, f"PID  X1={x1.name}  X2={x2.name}  Y={y.name}  ({method}, {n} samples, {unit})", top
    )
    for what, path in written.items():
        out.print(f"wrote {what.replace('_', '-')}: {path}", soft_wrap=True)
