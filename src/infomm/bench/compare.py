"""Side by side with scikit-learn: its KSG on the same arrays as ours, with error and time ratios.

``sklearn.feature_selection.mutual_info_regression`` implements estimator 1 of A. Kraskov,
H. Stoegbauer, P. Grassberger (2004), "Estimating mutual information", Phys. Rev. E 69,
066138, Eq. (8), for one feature against a 1-D target, so only 1 x 1 tasks are compared;
it runs with ``n_neighbors`` equal to our ``k`` on the arrays of each seed of a ``ksg`` row.

Example:
    >>> from infomm.bench.runner import run_benchmark
    >>> from infomm.data.tasks import bivariate_normal
    >>> res = run_benchmark(["ksg"], [bivariate_normal(0.75)], n=1000, seeds=2)
    >>> c = res.sklearn[0]
    >>> c["k"], c["seeds"], abs(c["ours_estimate"] - c["sklearn_estimate"]) < 1e-3
    (3, 2, True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from infomm.bench.runner import Row, _registries
from infomm.interface import Task


def sklearn_side_by_side(rows: Sequence[Row], tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """scikit-learn's KSG on the 1 x 1 tasks of our ``ksg`` rows, on the same arrays and seeds."""
    from sklearn.feature_selection import mutual_info_regression

    by_name = {t.name: t for t in tasks}
    out = []
    for r in rows:
        task = by_name.get(r.task)
        if r.estimator != "ksg" or task is None or task.dim_x != 1 or task.dim_y != 1:
            continue
        k = int(getattr(_registries()["mi"].get("ksg")(), "k", 3))
        values, cpu = [], []
        for seed in range(len(r.values)):
            x, y = task.sample(r.n, seed=seed)
            t0 = time.process_time()
            v = mutual_info_regression(x, y[:, 0], n_neighbors=k, random_state=seed)[0]
            cpu.append(time.process_time() - t0)
            values.append(float(v))
        sk = Row("sklearn-ksg", r.task, "mi", "sklearn-ksg", r.dims, r.n, r.truth, tuple(values), tuple(cpu))
        out.append(
            {
                "task": r.task,
                "truth": r.truth,
                "k": k,
                "seeds": len(values),
                "ours_estimate": r.estimate,
                "sklearn_estimate": sk.estimate,
                "ours_mean_abs_error": r.mean_abs_error,
                "sklearn_mean_abs_error": sk.mean_abs_error,
                "error_ratio": _ratio(r.mean_abs_error, sk.mean_abs_error),
                "ours_cpu_seconds": r.cpu_seconds,
                "sklearn_cpu_seconds": sk.cpu_seconds,
                "time_ratio": _ratio(r.cpu_seconds, sk.cpu_seconds),
                "sklearn_values": list(values),
            }
        )
    return out


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None
