"""Reading a finished training run back, and its per-modality dynamics as a Markdown section.

Example:
    >>> from infomm.training.engine import TrainResult
    >>> res = TrainResult("concat", [{"epoch": 1.0, "val/accuracy": 0.5, "val/accuracy/a": 0.4, "grad_norm/a": 1.0}],
    ...                   {"accuracy": 0.6, "accuracy/a": 0.5, "n": 10.0})
    >>> print(training_markdown(res).splitlines()[0])
    ## Training dynamics: concat
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infomm.interface import InputError
from infomm.training.engine import TrainResult

#: history columns shown first, per modality (``{m}`` is replaced by each modality)
_PER_MODALITY = ("val/accuracy/{m}", "val/entropy/{m}", "grad_norm/{m}")


def load_run(run_dir: str | Path) -> TrainResult:
    """Read ``run_dir/result.json`` (written by :func:`infomm.training.train`) as a :class:`TrainResult`."""
    path = Path(run_dir) / "result.json"
    if not path.is_file():
        raise InputError(
            f"{str(path)!r} does not exist; pass the --out folder of a finished `infomm train` run."
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return TrainResult(
            data["method"],
            list(data["history"]),
            dict(data["test"]),
            dict(data.get("files", {})),
            dict(data.get("config", {})),
        )
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(
            f"{str(path)!r} is not a training result ({type(exc).__name__}); re-run the training."
        ) from None


def _modalities(result: TrainResult) -> list[str]:
    return sorted({k.split("/", 2)[2] for h in result.history for k in h if k.startswith("val/accuracy/")})


def training_markdown(result: TrainResult, max_rows: int = 12, heading: int = 2) -> str:
    """Markdown: test metrics, then per-epoch fused / per-modality accuracy, entropy, gradient norm and
    the method's coefficients (at most ``max_rows`` evenly spaced epochs, the last always kept)."""
    mods = _modalities(result)
    lines = [f"{'#' * heading} Training dynamics: {result.method}", ""]
    test = {k: v for k, v in result.test.items() if k not in ("n", "log_classes")}
    lines += ["| test metric | value |", "| --- | --- |"] + [f"| {k} | {v:.3f} |" for k, v in test.items()]
    hist = result.history
    if not hist:
        return "\n".join(lines) + "\n"
    cols = ["val/accuracy"] + [c.format(m=m) for m in mods for c in _PER_MODALITY]
    extra = sorted(
        {k for h in hist for k in h}
        - set(cols)
        - {"epoch", "seconds"}
        - {k for k in hist[0] if k.startswith(("val/", "loss/"))}
    )
    cols += [k for k in extra if not k.startswith(("grad_norm/", "val/"))]
    step = max(1, -(-len(hist) // max_rows))
    rows = hist[::step]
    if rows[-1] is not hist[-1]:
        rows.append(hist[-1])
    lines += ["", "| epoch | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    for h in rows:
        cells = [f"{h[c]:.3g}" if c in h else "" for c in cols]
        lines.append(f"| {int(h['epoch'])} | " + " | ".join(cells) + " |")
    lines += ["", f"Mean seconds per epoch: {result.seconds_per_epoch:.2f}."]
    return "\n".join(lines) + "\n"
