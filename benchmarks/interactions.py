"""Run the interactions benchmark (LSMI) and write ``results/interactions.json`` and ``results/interactions.md``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/interactions.py             # full run (about 2.5 minutes, 1 thread)
    python benchmarks/interactions.py --quick --out /tmp/bench       # smoke run (tiny sizes)
    python benchmarks/interactions.py --render                       # re-render the Markdown from the JSON

Method: cross-fitted LSMI, Yang, Wang & Hu (2025), "Efficient Quantification of Multimodal
Interaction at Sample Level", ICML (:mod:`infomm.interactions.sample_level`), on the gates of
:data:`infomm.data.gates.GATES` embedded in noisy continuous features
(:class:`infomm.data.gates.EmbeddedGate`), against

* the exact LSMI **oracle** of the embedded gate (true densities, same samples), and
* the discrete **BROJA** decomposition of the gate (Bertschinger et al. 2014, "Quantifying Unique
  Information", Entropy 16(4)); LSMI's redundancy is the I± measure (Finn & Lizier 2018), so a gate
  where the exact plug-in LSMI (:func:`infomm.interactions.result.lsmi_plugin`) differs from BROJA
  (COPY) differs from the truth by design, not by estimation error.

Timings: ``time.perf_counter`` (wall) and ``time.process_time`` (CPU, all threads of this process)
around one ``lsmi(...)`` call, with one torch thread; one untimed small fit first, so lazy
initialisation is not timed. All values are nats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infomm.atomic import write_json, write_text
from infomm.bench import environment
from infomm.data.gates import GATES, EmbeddedGate
from infomm.estimators.fitting import torch_threads
from infomm.interactions import pid
from infomm.interactions.result import lsmi_plugin
from infomm.interactions.sample_level import LSMI, lsmi

RESULTS = Path(__file__).resolve().parent / "results"
ATOMS = ("R", "U1", "U2", "S")
#: LSMI passes a gate when every atom is within this many nats of the oracle's.
TOLERANCE = 0.05
#: time(n_large) / time(n_small) may exceed n_large / n_small by this factor and still count as linear.
LINEAR_SLACK = 1.2
#: the runtime target: n = 10,000 with 64-dimensional modalities in under this many seconds (wall).
TARGET_SECONDS = 60.0
#: the published LSMI runtime per real dataset on a GPU (Yang, Wang & Hu 2025), minutes.
PUBLISHED_MINUTES = (7, 11)
#: the dataset size used for the extrapolation sentence.
EXTRAPOLATE_N = 100_000


@dataclass(frozen=True)
class Config:
    """Sizes of one run (``Config()`` is the full benchmark, :meth:`quick` the smoke run)."""

    gates: tuple[str, ...] = tuple(GATES.names())
    accuracy_dims: tuple[int, ...] = (4, 16)
    n_train: int = 2000
    n_test: int = 2000
    runtime_gate: str = "rdn+xor"
    runtime_dim: int = 64  # dimension of the runtime-vs-n sweep
    runtime_ns: tuple[int, ...] = (1000, 10_000, 50_000)
    dims_n: int = 10_000  # samples of the runtime-vs-dimension sweep
    runtime_dims: tuple[int, ...] = (4, 64, 512)
    projection: int = 64  # PCA components of the extra row at the largest dimension
    seed: int = 0

    @classmethod
    def quick(cls) -> Config:
        return cls(
            gates=("xor", "copy"),
            accuracy_dims=(4,),
            n_train=300,
            n_test=300,
            runtime_dim=8,
            runtime_ns=(200, 400),
            dims_n=200,
            runtime_dims=(4, 8),
            projection=4,
        )


def _atoms(res: Any) -> dict[str, float]:
    return {a: float(getattr(res, a)) for a in ATOMS}


def _max_err(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) for k in ATOMS)


def plugin_rows(gates: Sequence[str]) -> list[dict[str, Any]]:
    """Exact plug-in LSMI on each gate's discrete joint vs its BROJA decomposition."""
    rows = []
    for name in gates:
        p = GATES.get(name)()
        plug, broja = lsmi_plugin(p), pid(p, "broja")
        err = _max_err(_atoms(plug), _atoms(broja))
        rows.append(
            {
                "gate": name,
                "plugin": _atoms(plug),
                "broja": _atoms(broja),
                "raw_R": float(plug.raw["R"]),
                "clipped": plug.clipped,
                "max_abs_diff": err,
                "differs_by_design": err > TOLERANCE,
            }
        )
    return rows


def accuracy_rows(
    cfg: Config, by_design: set[str], say: Callable[[str], None] = lambda s: None
) -> list[dict[str, Any]]:
    """Fit LSMI on ``n_train`` samples, decompose ``n_test`` others; compare with oracle and BROJA."""
    rows = []
    for dim in cfg.accuracy_dims:
        for name in cfg.gates:
            gate = EmbeddedGate(name, dim=dim, seed=cfg.seed)
            x1, x2, y = gate.sample(cfg.n_train, seed=cfg.seed)
            t1, t2, ty = gate.sample(cfg.n_test, seed=cfg.seed + 1)
            w0, c0 = time.perf_counter(), time.process_time()
            res = LSMI(seed=cfg.seed).fit(x1, x2, y).decompose(t1, t2, ty)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            est, oracle, truth = _atoms(res), _atoms(gate.oracle(t1, t2, ty)), _atoms(gate.truth())
            row = {
                "gate": name,
                "dim": dim,
                "lsmi": est,
                "oracle": oracle,
                "truth": truth,
                "err_oracle": _max_err(est, oracle),
                "err_truth": _max_err(est, truth),
                "within_oracle": _max_err(est, oracle) <= TOLERANCE,
                "differs_by_design": name in by_design,
                "flags": [f.message for f in res.flags],
                "wall_seconds": wall,
                "cpu_seconds": cpu,
            }
            rows.append(row)
            say(f"accuracy {name:9s} dim {dim:3d}: max|err| vs oracle {row['err_oracle']:.4f} ({wall:.1f} s)")
    return rows


def _timed(gate: EmbeddedGate, n: int, seed: int, **options: Any) -> dict[str, Any]:
    x1, x2, y = gate.sample(n, seed=seed)
    w0, c0 = time.perf_counter(), time.process_time()
    res = lsmi(x1, x2, y, seed=seed, **options)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    oracle = _atoms(gate.oracle(x1, x2, y))
    return {
        "n": n,
        "dim": gate.dim,
        "projection": options.get("projection"),
        "folds": res.details["folds"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "us_per_sample_wall": 1e6 * wall / n,
        "us_per_sample_cpu": 1e6 * cpu / n,
        "err_oracle": _max_err(_atoms(res), oracle),
    }


def runtime_rows(cfg: Config, say: Callable[[str], None] = lambda s: None) -> dict[str, list[dict[str, Any]]]:
    """Cross-fitted ``lsmi`` (default folds) timed vs n and vs feature dimension.

    The point (``dims_n``, ``runtime_dim``) lies on both sweeps; it is measured once and reused.
    """
    cache: dict[tuple[int, int, int | None], dict[str, Any]] = {}

    def point(n: int, dim: int, projection: int | None = None) -> dict[str, Any]:
        key = (n, dim, projection)
        if key not in cache:
            opts = {} if projection is None else {"projection": projection}
            cache[key] = _timed(EmbeddedGate(cfg.runtime_gate, dim=dim, seed=cfg.seed), n, cfg.seed, **opts)
            r = cache[key]
            say(
                f"runtime n {n:6d} dim {dim:4d} projection {projection}: wall {r['wall_seconds']:.1f} s, "
                f"CPU {r['cpu_seconds']:.1f} s"
            )
        return cache[key]

    vs_n = [point(n, cfg.runtime_dim) for n in cfg.runtime_ns]
    vs_dim = [point(cfg.dims_n, d) for d in cfg.runtime_dims]
    if cfg.projection < max(cfg.runtime_dims):
        vs_dim.append(point(cfg.dims_n, max(cfg.runtime_dims), cfg.projection))
    return {"vs_n": vs_n, "vs_dim": vs_dim}


def checks(data: dict[str, Any]) -> dict[str, Any]:
    """The verdicts: linear growth in n, the 60-second target, accuracy vs oracle, the extrapolation."""
    vs_n = data["runtime"]["vs_n"]
    small, large = vs_n[-2], vs_n[-1]
    size_ratio = large["n"] / small["n"]
    ratio_wall = large["wall_seconds"] / small["wall_seconds"]
    ratio_cpu = large["cpu_seconds"] / small["cpu_seconds"]
    target = next(
        (
            r
            for r in vs_n + data["runtime"]["vs_dim"]
            if r["n"] == 10_000 and r["dim"] == 64 and not r["projection"]
        ),
        None,
    )
    acc = data["accuracy"]
    minutes = large["us_per_sample_wall"] * EXTRAPOLATE_N / 1e6 / 60
    return {
        "linear": {
            "n_small": small["n"],
            "n_large": large["n"],
            "size_ratio": size_ratio,
            "ratio_wall": ratio_wall,
            "ratio_cpu": ratio_cpu,
            "limit": LINEAR_SLACK * size_ratio,
            "linear": ratio_cpu <= LINEAR_SLACK * size_ratio,
        },
        "target_60s": None
        if target is None
        else {
            "wall_seconds": target["wall_seconds"],
            "cpu_seconds": target["cpu_seconds"],
            "met": target["wall_seconds"] < TARGET_SECONDS,
        },
        "accuracy": {
            "within": sum(r["within_oracle"] for r in acc),
            "rows": len(acc),
            "met": all(r["within_oracle"] for r in acc),
        },
        "extrapolation": {
            "n": EXTRAPOLATE_N,
            "us_per_sample": large["us_per_sample_wall"],
            "minutes": minutes,
        },
    }


def run(cfg: Config, say: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """The whole benchmark as a JSON-ready dict (``settings``, ``plugin``, ``accuracy``, ``runtime``, ``checks``)."""
    w0, c0 = time.perf_counter(), time.process_time()
    with torch_threads(1):
        lsmi(*EmbeddedGate("xor", dim=4).sample(200, seed=0), seed=0)  # untimed warm-up (lazy imports)
        settings = {
            **environment(),
            **asdict(cfg),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "tolerance": TOLERANCE,
        }
        plug = plugin_rows(cfg.gates)
        by_design = {r["gate"] for r in plug if r["differs_by_design"]}
        data: dict[str, Any] = {
            "settings": settings,
            "plugin": plug,
            "accuracy": accuracy_rows(cfg, by_design, say),
            "runtime": runtime_rows(cfg, say),
        }
    data["checks"] = checks(data)
    data["wall_seconds"] = time.perf_counter() - w0
    data["cpu_seconds"] = time.process_time() - c0
    return data


# ---------------------------------------------------------------------------------------- Markdown
def _quad(a: dict[str, float]) -> str:
    return " / ".join(f"{a[k]:.3f}" for k in ATOMS)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def _yes(b: bool) -> str:
    return "yes" if b else "**no**"


def _growth(lin: dict[str, Any]) -> str:
    if lin["ratio_cpu"] <= lin["size_ratio"]:
        return "linear or better"
    if lin["linear"]:
        return f"linear within {LINEAR_SLACK - 1:.0%} (the limit is {lin['limit']:.1f})"
    return f"super-linear (above the limit {lin['limit']:.1f})"


def render_markdown(data: dict[str, Any]) -> str:
    s, c = data["settings"], data["checks"]
    lin, acc, ext = c["linear"], c["accuracy"], c["extrapolation"]
    lines = [
        "# Interactions benchmark (LSMI)",
        "",
        f"Cross-fitted LSMI (Yang, Wang & Hu 2025, ICML) on the embedded gates. Python {s['python']}, "
        f"numpy {s['numpy']}, torch {s['torch']} ({s['torch_threads']} thread at the start, timed runs "
        f"with 1), OMP_NUM_THREADS={s['omp_num_threads']}, {s['cpu_count']} CPUs, load average at the start "
        f"{', '.join(f'{v:.2f}' for v in s['load_average_at_start'] or [])}. Whole run: wall "
        f"{data['wall_seconds']:.0f} s, CPU {data['cpu_seconds']:.0f} s. All values in nats.",
        "",
        "## Targets",
        "",
    ]
    rows = []
    t = c["target_60s"]
    if t is not None:
        rows.append(
            [
                f"n = 10,000 with 64-dimensional modalities in under {TARGET_SECONDS:.0f} s on this "
                f"{s['cpu_count']}-core CPU",
                f"wall {t['wall_seconds']:.1f} s (CPU {t['cpu_seconds']:.1f} s)",
                _yes(t["met"]),
            ]
        )
    rows.append(
        [
            f"linear growth in n: time({lin['n_large']:,}) / time({lin['n_small']:,}) against "
            f"{lin['size_ratio']:.0f} (linear if CPU ratio <= {lin['limit']:.1f})",
            f"CPU {lin['ratio_cpu']:.2f}, wall {lin['ratio_wall']:.2f}",
            _yes(lin["linear"]),
        ]
    )
    rows.append(
        [
            f"LSMI within {TOLERANCE} nats of the oracle (every atom), all gates and dims",
            f"{acc['within']} / {acc['rows']}",
            _yes(acc["met"]),
        ]
    )
    lines += _table(["target", "measured", "met"], rows)
    lo, hi = PUBLISHED_MINUTES
    lines += [
        f"The published LSMI runtime is {lo}-{hi} minutes per real dataset on a GPU (Yang, Wang & Hu 2025). "
        f"Here the cross-fitted `lsmi` at dim {data['runtime']['vs_n'][-1]['dim']} costs "
        f"{ext['us_per_sample']:.0f} µs per sample (wall, n = {lin['n_large']:,}, one thread); at that rate a "
        f"{ext['n']:,}-sample dataset would take {ext['minutes']:.1f} minutes on this CPU.",
        "",
        f"## Accuracy: fit on {s['n_train']} samples, decompose {s['n_test']} held-out samples",
        "",
        "Atoms as R / U1 / U2 / S. Oracle: exact LSMI on the true densities of the same held-out samples; "
        "truth: discrete BROJA decomposition of the gate. Noise 0.3, amplitude 1, seed "
        f"{s['seed']} (directions, samples, LSMI).",
        "",
    ]
    rows = []
    for r in data["accuracy"]:
        note = "I± differs from BROJA by design" if r["differs_by_design"] else ""
        if r["flags"]:
            note = (note + "; " if note else "") + f"{len(r['flags'])} warning(s)"
        rows.append(
            [
                r["gate"],
                str(r["dim"]),
                _quad(r["lsmi"]),
                _quad(r["oracle"]),
                _quad(r["truth"]),
                f"{r['err_oracle']:.4f}",
                f"{r['err_truth']:.4f}",
                _yes(r["within_oracle"]),
                note,
            ]
        )
    lines += _table(
        [
            "gate",
            "dim",
            "LSMI",
            "oracle",
            "BROJA truth",
            "max err vs oracle",
            "max err vs truth",
            "within 0.05 of oracle",
            "note",
        ],
        rows,
    )
    lines += [
        "## Plug-in LSMI on the exact distributions vs BROJA",
        "",
        "`lsmi_plugin(p)`: exact surprisals and pointwise MIs of the discrete joint, then the RUS adjustment. "
        "Raw R is the I± redundancy before the adjustment.",
        "",
    ]
    rows = [
        [
            r["gate"],
            _quad(r["plugin"]),
            _quad(r["broja"]),
            f"{r['max_abs_diff']:.4f}",
            f"{r['raw_R']:.3f}",
            "yes" if r["clipped"] else "no",
            "I± differs from BROJA by design" if r["differs_by_design"] else "equal",
        ]
        for r in data["plugin"]
    ]
    lines += _table(
        ["gate", "plug-in LSMI", "BROJA", "max abs diff", "raw R (I±)", "adjusted", "verdict"], rows
    )
    lines += [
        "## Runtime of the cross-fitted `lsmi(x1, x2, y)`",
        "",
        f"Gate `{s['runtime_gate']}`, default options (folds = 2: two fits on n/2 samples each, every sample "
        "read out by the fold that did not see it), one torch thread. µs/sample = 10^6 seconds / n. The point "
        f"n = {s['dims_n']:,}, dim {s['runtime_dim']} is measured once and appears in both tables. "
        "Max err vs oracle: the largest atom error of that run.",
        "",
    ]
    head = [
        "n",
        "dim",
        "projection",
        "wall s",
        "CPU s",
        "µs/sample (wall)",
        "µs/sample (CPU)",
        "max err vs oracle",
    ]

    def trow(r: dict[str, Any]) -> list[str]:
        return [
            f"{r['n']:,}",
            str(r["dim"]),
            f"PCA {r['projection']}" if r["projection"] else "-",
            f"{r['wall_seconds']:.1f}",
            f"{r['cpu_seconds']:.1f}",
            f"{r['us_per_sample_wall']:.0f}",
            f"{r['us_per_sample_cpu']:.0f}",
            f"{r['err_oracle']:.4f}",
        ]

    lines += ["### vs n", ""] + _table(head, [trow(r) for r in data["runtime"]["vs_n"]])
    lines += [
        f"time({lin['n_large']:,}) / time({lin['n_small']:,}) = {lin['ratio_cpu']:.2f} (CPU), "
        f"{lin['ratio_wall']:.2f} (wall), against {lin['size_ratio']:.0f} for linear growth: "
        f"{_growth(lin)}.",
        "",
    ]
    lines += ["### vs feature dimension", ""] + _table(head, [trow(r) for r in data["runtime"]["vs_dim"]])
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the result files")
    p.add_argument("--render", action="store_true", help="only re-render the Markdown from the JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.render:
        say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        data = run(Config.quick() if args.quick else Config(), say)
        write_json(args.out / "interactions.json", data)
    data = json.loads((args.out / "interactions.json").read_text())
    text = render_markdown(data)
    write_text(args.out / "interactions.md", text)
    if not args.quiet:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
