"""The estimator benchmark: registered estimators on tasks with known truth, side by side.

Every method runs on the *same* arrays (``task.sample(n, seed)``); a row reports the truth,
the estimate (mean over seeds), the error ``estimate - truth``, the CPU seconds per fit
(:func:`time.process_time`, all threads of this process) and whether the task counts as
solved. scikit-learn's KSG (``mutual_info_regression``, 1 x 1 tasks only) runs on the same
arrays as our KSG, and the ratios of their errors and times are reported.

Solved rule, after P. Czyz, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx (2023),
"Beyond Normal: On the Evaluation of Mutual Information Estimators", NeurIPS 2023, Sec. 5:
an MI estimate is solved when it lies within a factor :data:`FACTOR` = 1.5 of the truth
(``truth / 1.5 <= estimate <= 1.5 * truth``); for a truth of 0 when ``|estimate| <=``
:data:`ZERO_TOLERANCE` = 0.1 nats. An entropy has no natural scale (a uniform cube of side 1
has h = 0), so an entropy estimate is solved when ``|estimate - truth| <=``
:data:`ENTROPY_TOLERANCE` = 0.1 nats.

The full study is ``benchmarks/estimators.py`` (results in ``benchmarks/results/``); the CLI
``infomm bench`` runs :func:`run_benchmark` with ``quick=True``.

Example:
    >>> solved(1.0, 1.4), solved(0.9, 1.4), solved(0.05, 0.0)
    (True, False, True)
    >>> from infomm.data.tasks import bivariate_normal
    >>> res = run_benchmark(["gaussian"], [bivariate_normal(0.75)], n=2000, seeds=2, sklearn=False)
    >>> row = res.rows[0]
    >>> row.method, round(row.truth, 4), abs(row.error) < 0.05, row.error == row.estimate - row.truth
    ('gaussian', 0.4133, True, True)
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infomm.interface import InputError, Task

#: an MI estimate within this factor of a positive truth counts as solved (Czyz et al. 2023).
FACTOR = 1.5
#: an MI estimate of a zero truth counts as solved when its magnitude is at most this (nats).
ZERO_TOLERANCE = 0.1
#: an entropy estimate counts as solved when its absolute error is at most this (nats).
ENTROPY_TOLERANCE = 0.1
#: the neural variational estimators (one critic, one bound each).
NEURAL = ("smile", "infonce", "mine", "nwj", "dv", "js")
#: those that are lower bounds on MI (SMILE's clipped partition term makes it none).
LOWER_BOUNDS = ("infonce", "mine", "nwj", "dv", "js")
#: the KSG configuration whose 1 x 1 rows the KSG targets are checked on (see :func:`default_methods`).
KSG_TARGET_OPTIONS: Mapping[str, Any] = {"k": 1, "transform": "rank", "correction": "extrapolate"}
KSG_TARGET_LABEL = "ksg (rank, k=1, extrapolated)"

RULE = (
    f"MI: solved when truth/{FACTOR} <= estimate <= {FACTOR}*truth (Czyz et al. 2023), or |estimate| <= "
    f"{ZERO_TOLERANCE} nats when the truth is 0; entropy: solved when |estimate - truth| <= {ENTROPY_TOLERANCE} "
    "nats. The estimate is the mean over seeds; seed s samples the data with seed s and seeds the method with s."
)


def solved(estimate: float, truth: float, quantity: str = "mi") -> bool:
    """Whether ``estimate`` counts as solving a task with value ``truth`` (see the module rule)."""
    if not math.isfinite(estimate):
        return False
    if quantity == "entropy":
        return abs(estimate - truth) <= ENTROPY_TOLERANCE
    if truth == 0.0:
        return abs(estimate) <= ZERO_TOLERANCE
    return truth / FACTOR <= estimate <= FACTOR * truth


@dataclass(frozen=True)
class MethodSpec:
    """One estimator of the benchmark and where it runs.

    Attributes:
        name: registry name (in ``MI_ESTIMATORS`` or ``ENTROPY_ESTIMATORS``).
        quantity: ``"mi"`` or ``"entropy"``.
        seeds: number of seeds (0, 1, ...) averaged; each seed is a fresh sample and a fresh fit.
        options: keyword arguments of the estimator (``seed`` is added when it accepts one).
        min_dim, max_dim: run only on tasks with ``min_dim <= dim_x + dim_y <= max_dim``.
        tasks: run only on these task names (``None``: all).
        n: samples per task for this method (``None``: the run's ``n``).
        label: the method's name in the tables (default ``name``, or ``"name (n=...)"`` with ``n``).
    """

    name: str
    quantity: str = "mi"
    seeds: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    min_dim: int | None = None
    max_dim: int | None = None
    tasks: tuple[str, ...] | None = None
    n: int | None = None
    label: str | None = None

    @property
    def title(self) -> str:
        return self.label or (self.name if self.n is None else f"{self.name} (n={self.n})")

    def covers(self, task: Task) -> bool:
        d = task.dim_x + task.dim_y
        return (
            task.quantity == self.quantity
            and (self.min_dim is None or d >= self.min_dim)
            and (self.max_dim is None or d <= self.max_dim)
            and (self.tasks is None or task.name in self.tasks)
        )


@dataclass(frozen=True)
class Row:
    """The result of one method on one task (over ``len(values)`` seeds)."""

    method: str
    task: str
    quantity: str
    estimator: str
    dims: str
    n: int
    truth: float
    values: tuple[float, ...]
    cpu: tuple[float, ...]
    train_values: tuple[float | None, ...] = ()
    flags: tuple[str, ...] = ()
    reference: str = ""

    @property
    def estimate(self) -> float:
        return float(np.mean(self.values))

    @property
    def error(self) -> float:
        """``estimate - truth`` (nats), the error of the mean over seeds."""
        return self.estimate - self.truth

    @property
    def mean_abs_error(self) -> float:
        """Mean over seeds of ``|value - truth|`` (bias and variance together)."""
        return float(np.mean([abs(v - self.truth) for v in self.values]))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def cpu_seconds(self) -> float:
        """Mean CPU seconds per fit."""
        return float(np.mean(self.cpu))

    @property
    def solved(self) -> bool:
        return solved(self.estimate, self.truth, self.quantity)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            estimate=self.estimate,
            error=self.error,
            mean_abs_error=self.mean_abs_error,
            std=self.std,
            cpu_seconds=self.cpu_seconds,
            solved=self.solved,
            seeds=len(self.values),
        )
        return out


@dataclass
class BenchResult:
    """All rows of a run plus the scikit-learn comparison, settings and totals."""

    rows: list[Row]
    sklearn: list[dict[str, Any]]
    settings: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def row(self, method: str, task: str) -> Row | None:
        return next((r for r in self.rows if r.method == method and r.task == task), None)

    def solved_counts(self, quantity: str = "mi") -> dict[str, tuple[int, int]]:
        """``{method: (solved, tasks)}`` over the rows of ``quantity``."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.rows:
            if r.quantity == quantity:
                s, t = out.get(r.method, (0, 0))
                out[r.method] = (s + int(r.solved), t + 1)
        return out

    def to_dict(self) -> dict[str, Any]:
        rows = [r.to_dict() for r in self.rows]
        return {
            "settings": self.settings,
            "rule": RULE,
            "mi": [r for r in rows if r["quantity"] == "mi"],
            "entropy": [r for r in rows if r["quantity"] == "entropy"],
            "sklearn": self.sklearn,
            "solved": {q: {m: list(c) for m, c in self.solved_counts(q).items()} for q in ("mi", "entropy")},
            "skipped": self.skipped,
            "total_cpu_seconds": float(sum(sum(r.cpu) for r in self.rows))
            + float(sum(c["sklearn_cpu_seconds"] * c["seeds"] for c in self.sklearn)),
            "wall_seconds": self.wall_seconds,
        }


def default_tasks(quick: bool = False) -> list[Task]:
    """The MI family of Czyz et al. (19 tasks) plus the entropy family and a 10-D Gaussian entropy.

    ``quick`` keeps one 1 x 1 task, the 2-pair 5 x 5, independence and the 1-D and 5-D entropies.
    """
    from infomm.data.tasks import benchmark_family, entropy_family, gaussian_entropy_task

    tasks = benchmark_family() + entropy_family() + [gaussian_entropy_task(10)]
    if quick:
        keep = {"binormal-0.75", "gauss-2pair-5x5", "independent-5x5", "gauss-entropy-1d", "gauss-entropy-5d"}
        tasks = [t for t in tasks if t.name in keep]
    return tasks


def default_methods(quick: bool = False) -> list[MethodSpec]:
    """The estimators of the full benchmark (``quick``: KSG, Gaussian, auto, SMILE, kNN entropy).

    Seeds follow the cost: KSG averages 20 seeds on tasks of at most 3 dimensions (its 1 x 1
    target is 0.01 nats, below one seed's spread) and 3 above; SMILE and InfoNCE run on the
    tasks of 3 or more dimensions, the other neural bounds and CLUB / L1Out on those of 10 or
    more (DoE on all). DV also runs on the 8-nat task at n = 50000: at n = 5000 none of our
    lower bounds gets past ~5.5 nats (they need about e^I samples, McAllester & Stratos 2020,
    "Formal Limitations on the Measurement of Mutual Information", AISTATS, Sec. 2, and many
    more gradient steps).

    The KSG targets (|error| <= 0.01 nats on the 1 x 1 tasks) are checked on a second KSG
    row, :data:`KSG_TARGET_LABEL`: k = 1 on rank-transformed data with the half-sample
    extrapolation (:class:`~infomm.estimators.knn.KSG`, ``correction="extrapolate"``), which
    removes the boundary bias of band-shaped densities (plain KSG: -0.024 on
    additive-uniform-0.1) but doubles the spread of one estimate (sd ~0.045 instead of ~0.02).
    It averages 200 seeds, fixed from that spread before running: the standard error of the
    mean is then ~0.0032, a third of the 0.01 target (at 20 seeds it would be ~0.01, and the
    row could not tell a bias of 0 from one of 0.01). The plain ``ksg`` rows stay beside it.
    """
    if quick:
        return [
            MethodSpec("ksg"),
            MethodSpec("gaussian"),
            MethodSpec("auto"),
            MethodSpec("smile"),
            MethodSpec("knn", "entropy"),
        ]
    high = ("gauss-5pairs-8nats",)
    large = [MethodSpec("dv", tasks=high, n=50000)]
    cheap = [MethodSpec("ksg", seeds=20, max_dim=3), MethodSpec("ksg", seeds=3, min_dim=4, label="ksg")]
    cheap += [MethodSpec("ksg", seeds=200, max_dim=2, options=KSG_TARGET_OPTIONS, label=KSG_TARGET_LABEL)]
    cheap += [MethodSpec(m, seeds=10) for m in ("gaussian", "cca")]
    neural = [MethodSpec(m, min_dim=3) for m in NEURAL[:2]] + [MethodSpec(m, min_dim=10) for m in NEURAL[2:]]
    upper = [MethodSpec("doe")] + [MethodSpec(m, min_dim=10) for m in ("club", "l1out")]
    entropy = [MethodSpec("knn", "entropy", seeds=10), MethodSpec("mixture", "entropy", seeds=2)]
    return large + cheap + [MethodSpec("auto")] + neural + upper + entropy


def _registries() -> dict[str, Any]:
    import infomm.estimators  # noqa: F401  (fills the registries)
    from infomm.estimators.base import ENTROPY_ESTIMATORS, MI_ESTIMATORS

    return {"mi": MI_ESTIMATORS, "entropy": ENTROPY_ESTIMATORS}


def _make(factory: Callable[..., Any], options: Mapping[str, Any], seed: int) -> Any:
    import inspect

    opts = dict(options)
    try:
        params = inspect.signature(factory).parameters
        takes_seed = "seed" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    except (TypeError, ValueError):
        takes_seed = False
    if takes_seed:
        opts.setdefault("seed", seed)
    return factory(**opts)


def run_benchmark(
    methods: Sequence[MethodSpec | str] | None = None,
    tasks: Sequence[Task] | None = None,
    *,
    n: int | None = None,
    seeds: int | None = None,
    quick: bool = False,
    sklearn: bool = True,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Run ``methods`` on ``tasks`` with ``n`` samples each.

    Args:
        methods: :class:`MethodSpec` or MI registry names (default :func:`default_methods`).
        tasks: :class:`~infomm.interface.Task` objects (default :func:`default_tasks`); a method
            runs on the tasks it covers (:meth:`MethodSpec.covers`).
        n: samples per task (a method's own ``n`` wins); default 5000, or 1000 with ``quick``.
        seeds: if given, overrides every method's number of seeds.
        quick: the small default methods and tasks (a smoke run).
        sklearn: also run scikit-learn's KSG on the 1 x 1 MI tasks of the ``"ksg"`` rows run
            with the default options (scikit-learn has no transform or correction; it uses our
            default k).
        jobs: worker processes; each (method, task) group runs whole in one worker, so the CPU
            seconds of a fit are those of its own process.
        progress: called with a line of text as each (method, task) group finishes.

    Returns:
        :class:`BenchResult`. Methods missing from the registries are listed in ``skipped``.
    """
    n = (1000 if quick else 5000) if n is None else n
    if not isinstance(n, (int, np.integer)) or n < 20:
        raise InputError(f"n={n!r} must be an integer >= 20 (samples per task).")
    if seeds is not None and (not isinstance(seeds, (int, np.integer)) or seeds < 1):
        raise InputError(f"seeds={seeds!r} must be a positive integer or None.")
    if not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise InputError(f"jobs={jobs!r} must be a positive integer (worker processes).")
    specs = [MethodSpec(m) if isinstance(m, str) else m for m in (methods or default_methods(quick))]
    task_list = list(tasks if tasks is not None else default_tasks(quick))
    regs = _registries()
    skipped: list[str] = []
    groups: list[tuple[MethodSpec, Task, int, int]] = []
    for spec in specs:
        if spec.quantity not in regs:
            raise InputError(
                f"MethodSpec {spec.name!r}: quantity={spec.quantity!r} must be 'mi' or 'entropy'."
            )
        if spec.name not in regs[spec.quantity]:
            skipped.append(f"{spec.name} ({spec.quantity}): not registered")
            continue
        groups += [(spec, t, spec.n or int(n), seeds or spec.seeds) for t in task_list if spec.covers(t)]
    say = progress or (lambda line: None)
    start = time.perf_counter()
    rows: list[Row] = []
    if jobs == 1:
        for i, g in enumerate(groups):
            rows.append(_run_group(*g))
            say(f"[{i + 1}/{len(groups)}] {g[0].title} on {g[1].name}")
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(max_workers=int(jobs), mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_run_group, *g) for g in groups]
            for i, (g, fut) in enumerate(zip(groups, futures, strict=True)):
                rows.append(fut.result())
                say(f"[{i + 1}/{len(groups)}] {g[0].title} on {g[1].name}")
    if sklearn:
        from infomm.bench.compare import sklearn_side_by_side

        # only rows with the default options: scikit-learn runs with the default k and no transform
        plain = [r for r, g in zip(rows, groups, strict=True) if not dict(g[0].options)]
        sk = sklearn_side_by_side(plain, task_list)
    else:
        sk = []
    settings = {
        "n": int(n),
        "quick": quick,
        "jobs": int(jobs),
        "methods": [asdict(s) | {"seeds": seeds or s.seeds, "options": dict(s.options)} for s in specs],
        **environment(),
    }
    return BenchResult(rows, sk, settings, skipped, time.perf_counter() - start)


_WARM: set[str] = set()


def _run_group(spec: MethodSpec, task: Task, n: int, seeds: int) -> Row:
    """Fit ``spec`` on ``task`` for seeds 0 .. seeds-1 (data seed = method seed)."""
    import torch

    factory = _registries()[spec.quantity].get(spec.name)
    values: list[float] = []
    cpu: list[float] = []
    train: list[float | None] = []
    flags: set[str] = set()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread, as FitConfig.threads sets for neural fits, for every method
    try:
        if spec.name not in _WARM:  # an untimed small fit: lazy initialisation is not measured
            small = task.sample(200, seed=0)
            est = _make(factory, spec.options, 0)
            est.estimate(*small) if spec.quantity == "mi" else est.estimate(small)
            _WARM.add(spec.name)
        for seed in range(seeds):
            data = task.sample(n, seed=seed)
            est = _make(factory, spec.options, seed)
            t0 = time.process_time()
            res = est.estimate(*data) if spec.quantity == "mi" else est.estimate(data)
            cpu.append(time.process_time() - t0)
            values.append(float(res.value))
            train.append(None if res.train_value is None else float(res.train_value))
            flags.update(f.code.value for f in res.flags)
    finally:
        torch.set_num_threads(threads)
    dims = f"{task.dim_x}x{task.dim_y}" if task.quantity == "mi" else f"{task.dim_x}-D"
    return Row(
        spec.title,
        task.name,
        task.quantity,
        spec.name,
        dims,
        n,
        float(task.truth),
        tuple(values),
        tuple(cpu),
        tuple(train),
        tuple(sorted(flags)),
    )


def environment() -> dict[str, Any]:
    """Versions and thread settings that the timings depend on."""
    import os

    import sklearn
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
    }
