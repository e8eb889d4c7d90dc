"""The estimator benchmark: estimators on tasks with known truth, side by side with references.

:mod:`infomm.bench.runner` runs the methods (:func:`run_benchmark`) and compares with
scikit-learn; :mod:`infomm.bench.report` checks the acceptance targets and writes the Markdown
report. The full study is ``benchmarks/estimators.py``; ``infomm bench`` runs a quick one.

Example:
    >>> solved(1.0, 1.4), solved(0.9, 1.4)
    (True, False)
"""

from __future__ import annotations

from infomm.bench.report import check_targets, render_markdown
from infomm.bench.runner import (
    ENTROPY_TOLERANCE,
    FACTOR,
    LOWER_BOUNDS,
    RULE,
    ZERO_TOLERANCE,
    BenchResult,
    MethodSpec,
    Row,
    default_methods,
    default_tasks,
    environment,
    run_benchmark,
    solved,
)

__all__ = [
    "ENTROPY_TOLERANCE",
    "FACTOR",
    "LOWER_BOUNDS",
    "RULE",
    "ZERO_TOLERANCE",
    "BenchResult",
    "MethodSpec",
    "Row",
    "check_targets",
    "default_methods",
    "default_tasks",
    "environment",
    "render_markdown",
    "run_benchmark",
    "solved",
]
