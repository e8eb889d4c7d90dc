"""Targets and the Markdown report of a benchmark result (a :meth:`BenchResult.to_dict` dict).

Both work on the JSON dict, so that a report can be re-rendered from ``estimators.json`` (and
``torch_mist.json``) without re-running anything.

Example:
    >>> row = {"method": "doe", "task": "gauss-5pairs-8nats", "estimate": 7.8, "dims": "5x5", "n": 5000}
    >>> [t["passed"] for t in check_targets({"mi": [row]})]
    [True]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from infomm.bench.runner import KSG_TARGET_LABEL, LOWER_BOUNDS, NEURAL

# ----------------------------------------------------------------------------- targets
#: the sample size at which the targets are stated (rows without ``n`` count as this).
TARGET_N = 5000


def _rows(data: Mapping[str, Any], quantity: str = "mi", larger: bool = False) -> list[dict[str, Any]]:
    """Rows measured at :data:`TARGET_N` samples (or more, with ``larger``)."""
    n = TARGET_N
    return [r for r in data.get(quantity, []) if r.get("n", n) == n or (larger and r.get("n", n) > n)]


def _select(
    data: Mapping[str, Any], estimators: Sequence[str], task: str, larger: bool = False
) -> list[dict[str, Any]]:
    """Rows of ``task`` whose estimator (registry name; the label when absent) is in ``estimators``."""
    return [
        r
        for r in _rows(data, "mi", larger)
        if r["task"] == task and r.get("estimator", r["method"]) in estimators
    ]


def check_targets(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The acceptance targets, measured on a result dict (:meth:`BenchResult.to_dict`).

    Each entry: ``target`` (text), ``method``, ``measured`` (text) and ``passed`` (bool); a
    target whose rows are missing from ``data`` is left out. Targets are stated at
    :data:`TARGET_N` samples; only the 8-nat ones ("N may be larger") also use larger runs.
    "Best lower bound" is the largest estimate among :data:`~infomm.bench.runner.LOWER_BOUNDS`.
    The KSG targets use the rows of :data:`~infomm.bench.runner.KSG_TARGET_LABEL` when the
    run has them, else every 1 x 1 ``ksg`` row.
    """
    out: list[dict[str, Any]] = []

    def add(target: str, r: dict[str, Any], measured: str, passed: bool) -> None:
        out.append({"target": target, "method": r["method"], "measured": measured, "passed": bool(passed)})

    ksg = [r for r in _rows(data) if r.get("estimator", r["method"]) == "ksg" and r["dims"] == "1x1"]
    for r in [r for r in ksg if r["method"] == KSG_TARGET_LABEL] or ksg:
        spread = f"; one estimate sd {r['std']:.3f}" if "std" in r else ""
        add(
            f"KSG on {r['task']}: |error| <= 0.01",
            r,
            f"{r['error']:+.4f} (mean of {r['seeds']} seeds{spread})",
            abs(r["error"]) <= 0.01,
        )
    for r in _select(data, NEURAL, "gauss-2pair-5x5"):
        add(
            "gauss-2pair-5x5 (1.0217): >= 0.92 in <= 4 CPU-s per fit",
            r,
            f"{r['estimate']:.4f} in {r['cpu_seconds']:.2f} s",
            r["estimate"] >= 0.92 and r["cpu_seconds"] <= 4.0,
        )
    for task, bar in (
        ("gauss-dense-25x25", 1.10),
        ("spiral-gauss-2pair-5x5", 0.80),
        ("gauss-5pairs-8nats", 6.4),
    ):
        if found := _select(data, LOWER_BOUNDS, task, larger=task == "gauss-5pairs-8nats"):
            r = max(found, key=lambda r: r["estimate"])
            add(
                f"{task}: best lower bound >= {bar}",
                r,
                f"{r['estimate']:.4f} (n={r.get('n', '?')})",
                r["estimate"] >= bar,
            )
        for r in _select(data, ("smile", "auto"), task):
            add(f"{task}: >= {bar}", r, f"{r['estimate']:.4f}", r["estimate"] >= bar)
    for r in _select(data, (*NEURAL, "auto"), "independent-5x5"):
        add(
            "independent-5x5: held-out |estimate| <= 0.05",
            r,
            f"{r['estimate']:+.4f}",
            abs(r["estimate"]) <= 0.05,
        )
    for r in _select(data, ("doe",), "gauss-5pairs-8nats", larger=True):
        add(
            "gauss-5pairs-8nats: DoE >= 7.5",
            r,
            f"{r['estimate']:.4f} (n={r.get('n', '?')})",
            r["estimate"] >= 7.5,
        )
    for r in _rows(data, "entropy"):
        d, est = int(r["dims"].split("-")[0]), r.get("estimator", r["method"])
        if est == "knn" and d <= 10:
            bar = 0.05 if d <= 5 else 0.08
            add(
                f"kNN entropy on {r['task']}: |bias| <= {bar}",
                r,
                f"{r['error']:+.4f} (mean of {r['seeds']} seeds)",
                abs(r["error"]) <= bar,
            )
        if est == "mixture" and d >= 10:
            add(
                f"mixture entropy on {r['task']}: held-out |bias| <= 0.1",
                r,
                f"{r['error']:+.4f}",
                abs(r["error"]) <= 0.1,
            )
    counts = data.get("solved", {}).get("mi", {})
    if all(m in counts for m in ("auto", "ksg", "cca")):
        a, k, c = counts["auto"][0], counts["ksg"][0], counts["cca"][0]
        add(
            "auto solves more tasks (factor 1.5) than KSG alone and than CCA alone",
            {"method": "auto"},
            f"auto {a}, ksg {k}, cca {c} of {counts['auto'][1]}",
            a > k and a > c,
        )
    return out


# ----------------------------------------------------------------------------- Markdown
def _f(v: Any, fmt: str = ".4f") -> str:
    return "-" if v is None else format(v, fmt)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]


def render_markdown(data: Mapping[str, Any], torch_mist: Mapping[str, Any] | None = None) -> str:
    """The Markdown report of a result dict (:meth:`BenchResult.to_dict`), plus torch-mist's section."""
    s = data["settings"]
    lines = [
        "# Estimator benchmark",
        "",
        f"n = {s['n']} samples per task (unless a row says otherwise); Python {s['python']}, numpy {s['numpy']}, "
        f"torch {s['torch']}, scikit-learn {s['sklearn']}, {s['cpu_count']} CPUs. Total CPU "
        f"{data['total_cpu_seconds']:.0f} s, wall {data['wall_seconds']:.0f} s.",
        "",
        f"Rule: {data['rule']} Error = estimate - truth (nats). CPU s = process CPU seconds per fit "
        "(time.process_time).",
        "",
        "## Targets",
        "",
    ]
    targets = check_targets(data)
    if targets:
        lines += _table(
            ["target", "method", "measured", "met"],
            [[t["target"], t["method"], t["measured"], "yes" if t["passed"] else "**no**"] for t in targets],
        )
    else:
        lines.append(f"The targets are stated at n = {TARGET_N}; this run has no rows to check them on.")
    for q, title in (("mi", "Mutual information"), ("entropy", "Entropy")):
        rows = list(data.get(q, []))
        if not rows:
            continue
        lines += ["", f"## {title}: solved per method", ""]
        summary = []
        for m in dict.fromkeys(r["method"] for r in rows):
            mine = [r for r in rows if r["method"] == m]
            summary.append(
                [
                    m,
                    f"{sum(r['solved'] for r in mine)} / {len(mine)}",
                    _f(float(np.median([abs(r["error"]) for r in mine]))),
                    _f(float(np.mean([r["cpu_seconds"] for r in mine])), ".2f"),
                ]
            )
        lines += _table(["method", "solved", "median abs error", "mean CPU s / fit"], summary)
        for m in dict.fromkeys(r["method"] for r in rows):
            lines += ["", f"### {m}", ""]
            lines += _table(
                ["task", "dims", "truth", "estimate", "error", "std", "seeds", "CPU s", "solved", "flags"],
                [
                    [
                        r["task"],
                        r["dims"],
                        _f(r["truth"]),
                        _f(r["estimate"]),
                        _f(r["error"], "+.4f"),
                        _f(r["std"]),
                        str(r["seeds"]),
                        _f(r["cpu_seconds"], ".2f"),
                        "yes" if r["solved"] else "no",
                        ", ".join(r["flags"]),
                    ]
                    for r in rows
                    if r["method"] == m
                ],
            )
    if data.get("sklearn"):
        lines += [
            "",
            "## Side by side: scikit-learn KSG (mutual_info_regression), same arrays",
            "",
            "Ratios are ours / scikit-learn: error ratio of the mean |estimate - truth| over seeds, "
            "time ratio of the mean CPU seconds per fit (below 1: ours is better / faster).",
            "",
        ]
        lines += _table(
            [
                "task",
                "truth",
                "k",
                "ours",
                "sklearn",
                "ours mean abs err",
                "sklearn mean abs err",
                "error ratio",
                "ours CPU s",
                "sklearn CPU s",
                "time ratio",
            ],
            [
                [
                    c["task"],
                    _f(c["truth"]),
                    str(c["k"]),
                    _f(c["ours_estimate"]),
                    _f(c["sklearn_estimate"]),
                    _f(c["ours_mean_abs_error"]),
                    _f(c["sklearn_mean_abs_error"]),
                    _f(c["error_ratio"], ".2f"),
                    _f(c["ours_cpu_seconds"], ".3f"),
                    _f(c["sklearn_cpu_seconds"], ".3f"),
                    _f(c["time_ratio"], ".2f"),
                ]
                for c in data["sklearn"]
            ],
        )
    if torch_mist:
        lines += [
            "",
            "## Side by side: torch-mist " + str(torch_mist["settings"].get("torch_mist", "")),
            "",
            str(torch_mist.get("protocol", "")),
            "",
        ]
        lines += _table(
            [
                "task",
                "truth",
                "estimator",
                "ours",
                "torch-mist",
                "ours abs err",
                "torch-mist abs err",
                "error ratio",
                "ours CPU s",
                "torch-mist CPU s",
                "time ratio",
            ],
            [
                [
                    c["task"],
                    _f(c["truth"]),
                    c["estimator"],
                    _f(c["ours_estimate"]),
                    _f(c["mist_estimate"]),
                    _f(c["ours_abs_error"]),
                    _f(c["mist_abs_error"]),
                    _f(c["error_ratio"], ".2f"),
                    _f(c["ours_cpu_seconds"], ".2f"),
                    _f(c["mist_cpu_seconds"], ".2f"),
                    _f(c["time_ratio"], ".2f"),
                ]
                for c in torch_mist["rows"]
            ],
        )
    if data.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(data["skipped"])]
    return "\n".join(lines) + "\n"
