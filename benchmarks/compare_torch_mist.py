"""Side by side with torch-mist (PyPI ``torch-mist`` 0.2.17): same arrays, same train / held-out split.

torch-mist declares ``numpy<2``, so it lives in its own virtual environment (see
``benchmarks/README.md`` for the exact install commands); run this script with that
environment's Python from the repository root::

    OMP_NUM_THREADS=1 /tmp/mistenv/bin/python benchmarks/compare_torch_mist.py

For each task and estimator name present in both libraries, ours runs with its defaults
(``MI_ESTIMATORS.get(name)(seed=s).estimate(x, y)``, the held-out value) and torch-mist runs
``torch_mist.estimate_mi`` with its own defaults on our training split, with our held-out split
as both ``valid_data`` (early stopping) and ``test_data`` (read-out), the protocol of ours.
CPU seconds are :func:`time.process_time` per fit with one torch thread for both. Writes
``results/torch_mist.json`` and re-renders ``results/estimators.md`` when
``results/estimators.json`` exists.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
with contextlib.suppress(ImportError):  # the mist venv need not have infomm installed
    import infomm  # noqa: F401
if "infomm" not in sys.modules:
    sys.path.insert(0, str(HERE.parent / "src"))

from infomm.atomic import write_json  # noqa: E402
from infomm.data.tasks import TASKS  # noqa: E402
from infomm.estimators import MI_ESTIMATORS  # noqa: E402
from infomm.estimators.fitting import split_indices  # noqa: E402

DEFAULT_TASKS = ("gauss-2pair-5x5", "spiral-gauss-2pair-5x5", "independent-5x5", "gauss-5pairs-8nats")
DEFAULT_ESTIMATORS = ("smile", "infonce", "mine", "nwj", "js", "club", "l1out", "doe")
PROTOCOL = (
    "Same arrays (task.sample(n, seed)) and the same split: torch-mist trains on our training split and uses our "
    "held-out split for early stopping and read-out, as ours does. Both with their own default hyper-parameters. "
    "torch-mist: hidden_dims [128], batch 128, up to 5000 iterations; joint critics with one shuffled negative per "
    "sample for smile, mine, nwj and js, so their DV-type read-outs estimate the partition term from one negative "
    "per positive, which reads high at large MI (MINE 8.14 > 8 nats); a separable critic for infonce. Ours: "
    "separable critic (4 GELU layers of 64), batch 256, every off-diagonal pair of a batch as a negative "
    "(NeuralConfig / UpperConfig). Ratios are ours / torch-mist (below 1: ours has the smaller |error| / uses less "
    "CPU). CPU s = time.process_time per fit, one torch thread, after one untimed warm-up fit per estimator."
)


def _mist_fit(
    name: str, x: np.ndarray, y: np.ndarray, tr: np.ndarray, he: np.ndarray, **options: Any
) -> float:
    from torch_mist import estimate_mi

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32)

    held = {"x": t(x[he]), "y": t(y[he])}
    with contextlib.redirect_stdout(io.StringIO()):  # torch-mist prints its defaults
        value = estimate_mi(
            {"x": t(x[tr]), "y": t(y[tr])},
            estimator=name,
            valid_data=held,
            test_data=held,
            verbose=False,
            logger=False,
            **options,
        )
    return float(value)


def _warm_up(estimators: list[str]) -> None:
    """One small untimed fit per estimator and library: lazy initialisation is not measured."""
    x, y = TASKS.get("binormal-0.75").sample(400, seed=0)
    tr, he = split_indices(400, 0.3, 0, min_side=4)
    for name in estimators:
        MI_ESTIMATORS.get(name)(seed=0, max_epochs=1).estimate(x, y)
        _mist_fit(name, x, y, tr, he, max_iterations=2)


def compare(tasks: list[str], estimators: list[str], n: int, seeds: int) -> list[dict[str, Any]]:
    _warm_up(estimators)
    rows = []
    for task_name in tasks:
        task = TASKS.get(task_name)
        for name in estimators:
            ours, mist, ours_cpu, mist_cpu = [], [], [], []
            for seed in range(seeds):
                x, y = task.sample(n, seed=seed)
                est = MI_ESTIMATORS.get(name)(seed=seed)
                tr, he = split_indices(n, est.config.fit.heldout_fraction, seed, min_side=4)
                t0 = time.process_time()
                ours.append(est.estimate(x, y).value)
                ours_cpu.append(time.process_time() - t0)
                torch.manual_seed(seed)
                t0 = time.process_time()
                mist.append(_mist_fit(name, x, y, tr, he))
                mist_cpu.append(time.process_time() - t0)
            o_err = float(np.mean([abs(v - task.truth) for v in ours]))
            m_err = float(np.mean([abs(v - task.truth) for v in mist]))
            row = {
                "task": task_name,
                "truth": task.truth,
                "estimator": name,
                "seeds": seeds,
                "ours_estimate": float(np.mean(ours)),
                "mist_estimate": float(np.mean(mist)),
                "ours_abs_error": o_err,
                "mist_abs_error": m_err,
                "error_ratio": o_err / m_err if m_err > 0 else None,
                "ours_cpu_seconds": float(np.mean(ours_cpu)),
                "mist_cpu_seconds": float(np.mean(mist_cpu)),
                "time_ratio": float(np.mean(ours_cpu) / np.mean(mist_cpu)),
            }
            print(
                f"{task_name:28s} {name:8s} ours {row['ours_estimate']:.4f} ({row['ours_cpu_seconds']:.1f} s)  "
                f"torch-mist {row['mist_estimate']:.4f} ({row['mist_cpu_seconds']:.1f} s)",
                flush=True,
            )
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--tasks", nargs="*", default=list(DEFAULT_TASKS))
    p.add_argument("--estimators", nargs="*", default=list(DEFAULT_ESTIMATORS))
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = compare(args.tasks, args.estimators, args.n, args.seeds)
    data = {
        "settings": {
            "torch_mist": version("torch-mist"),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "n": args.n,
            "seeds": args.seeds,
            "wall_seconds": time.perf_counter() - start,
        },
        "protocol": PROTOCOL,
        "rows": rows,
    }
    write_json(args.out / "torch_mist.json", data)
    if (args.out / "estimators.json").exists():
        sys.path.insert(0, str(HERE))
        from estimators import render  # the benchmark script beside this one

        render(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
