"""Run the unified-codebook benchmark and write ``results/codebook.json`` and ``results/codebook.md``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/codebook.py                  # full run (2 workers, ~20 minutes)
    python benchmarks/codebook.py --quick --out /tmp/bench --jobs 1   # smoke run (tiny sizes)
    python benchmarks/codebook.py --render                            # re-render the Markdown from the JSON

Every run is :func:`infomm.codebook.fit_codebook` with the default :class:`CodebookConfig`
(30 epochs, fixed in advance) and one torch thread; seed ``s`` builds the data, the split and the
run. Variants, each on the same clips and split:

* ``cmg``: the CMG-style model (Xia et al., NeurIPS 2023: MM-EMA, cross commitment, Cross-CPC, CLUB);
* ``baseline``: the no-alignment baseline (``align=False``: every cross-modal term off);
* ``no-cpc``: ``cmg`` without Cross-CPC (``cpc_weight=0``), the ablation;
* ``paper-settings``: ``cmg`` with CMG's loss weights (commitment 0.25, Cross-CPC 1, CLUB 0.1,
  batch 64, lr 1e-3), to show why the defaults differ (synthetic set only);
* TOC (Huang et al., arXiv 2403.05168) read-outs of every ``cmg`` run at 16 and 24 of 32 channels.

Data: :func:`infomm.data.synthetic_paired_sequences` (2000 clips, 10 steps, 20 % misaligned pairs)
and :func:`infomm.data.avdigit_strings` (2000 strings of 6 digits: 8x8 image vs spoken digit).
Targets (issue "Unified discrete codebook"): median over the three seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infomm.atomic import write_json, write_text
from infomm.bench import environment

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS: dict[str, dict[str, Any]] = {
    "cmg": {},
    "baseline": {"align": False},
    "no-cpc": {"cpc_weight": 0.0},
    "paper-settings": {
        "commitment_cost": 0.25,
        "cpc_weight": 1.0,
        "club_weight": 0.1,
        "batch_size": 64,
        "lr": 1e-3,
    },
}
DATASETS = {
    "synthetic": ("cmg", "baseline", "no-cpc", "paper-settings"),
    "avdigits": ("cmg", "baseline", "no-cpc"),
}
TOC_KEEP = (16, 24)


@dataclass(frozen=True)
class Config:
    clips: int = 2000
    epochs: int | None = None  # None: the CodebookConfig default (30)
    seeds: tuple[int, ...] = (0, 1, 2)

    @classmethod
    def quick(cls) -> Config:
        return cls(clips=120, epochs=2, seeds=(0,))


def load(name: str, clips: int, seed: int) -> Any:
    from infomm.data import avdigit_strings, synthetic_paired_sequences

    return (
        synthetic_paired_sequences(clips, seed=seed)
        if name == "synthetic"
        else avdigit_strings(clips, seed=seed)
    )


def unit(name: str, variant: str, seed: int, cfg: Config, folder: str) -> dict[str, Any]:
    """One training run and its held-out metrics (plus TOC read-outs for ``cmg``)."""
    import torch

    from infomm.codebook import fit_codebook, toc_evaluate

    torch.set_num_threads(1)
    seqs = load(name, cfg.clips, seed)
    options = dict(VARIANTS[variant])
    if cfg.epochs is not None:
        options["epochs"] = cfg.epochs
    if cfg.clips < 500:
        options.setdefault("batch_size", 16)
        options["batch_size"] = min(options["batch_size"], 16)
    t0 = time.perf_counter()
    run = fit_codebook(seqs, Path(folder) / f"{name}-{variant}-{seed}", baseline=False, seed=seed, **options)
    seconds = time.perf_counter() - t0
    row: dict[str, Any] = {"data": name, "variant": variant, "seed": seed, "metrics": run.metrics}
    row["seconds"] = seconds
    row["epochs"] = len(run.history)
    if variant == "cmg":
        train, test = run.splits
        row["toc"] = {
            str(k): toc_evaluate(run.model, seqs, train, test, k, seed=seed)["toc"]
            for k in TOC_KEEP
            if k <= run.config.code_dim
        }
    return row


def _median(rows: list[dict[str, Any]], key: str, sub: str | None = None) -> float:
    return float(
        statistics.median(r["metrics"][key] if sub is None else r["metrics"][key][sub] for r in rows)
    )


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    """Medians over seeds per data set and variant, and the target checks."""
    out: dict[str, Any] = {}
    for name, variants in DATASETS.items():
        rows = [r for r in data["runs"] if r["data"] == name]
        if not rows:
            continue
        dirs = list(rows[0]["metrics"]["cross_accuracy"])
        med: dict[str, Any] = {}
        for v in variants:
            rs = [r for r in rows if r["variant"] == v]
            if not rs:
                continue
            m: dict[str, Any] = {k: {d: _median(rs, k, d) for d in dirs} for k in ("cross_accuracy", "ratio")}
            m["clip_cross_accuracy"] = {d: _median(rs, "clip_cross_accuracy", d) for d in dirs}
            m["in_accuracy"] = {
                mod: _median(rs, "in_accuracy", mod) for mod in rs[0]["metrics"]["in_accuracy"]
            }
            for k in ("agreement_step", "agreement_clip", "perplexity", "shared_fraction"):
                m[k] = _median(rs, k)
            m["seconds"] = float(statistics.median(r["seconds"] for r in rs))
            m["seeds"] = sorted(r["seed"] for r in rs)
            if v == "cmg":
                m["toc"] = {
                    k: {
                        d: float(statistics.median(r["toc"][k]["cross_accuracy"][d] for r in rs))
                        for d in dirs
                    }
                    for k in rs[0].get("toc", {})
                }
            med[v] = m
        out[name] = {"directions": dirs, "median": med, "checks": checks(med, dirs)}
    return out


def checks(med: dict[str, Any], dirs: list[str]) -> dict[str, bool]:
    """The issue's table on the medians (``None`` where a variant is missing)."""
    c, b = med.get("cmg"), med.get("baseline")
    res: dict[str, Any] = {}
    if c is None or b is None:
        return res
    for d in dirs:
        res[f"baseline cross {d} <= 0.30"] = b["cross_accuracy"][d] <= 0.30
        res[f"cmg cross {d} >= 0.60"] = c["cross_accuracy"][d] >= 0.60
        res[f"cmg cross {d} >= baseline + 0.40"] = c["cross_accuracy"][d] >= b["cross_accuracy"][d] + 0.40
        res[f"cmg cross / in {d} >= 0.75"] = c["ratio"][d] >= 0.75
    res["baseline agreement step, clip <= 0.05"] = b["agreement_step"] <= 0.05 and b["agreement_clip"] <= 0.05
    res["cmg agreement step >= 0.25"] = c["agreement_step"] >= 0.25
    res["cmg agreement clip >= 0.45"] = c["agreement_clip"] >= 0.45
    res["baseline shared <= 0.05"] = b["shared_fraction"] <= 0.05
    res["cmg shared >= 0.30"] = c["shared_fraction"] >= 0.30
    res["cmg perplexity >= 10"] = c["perplexity"] >= 10
    n = med.get("no-cpc")
    if n is not None:
        for d in dirs:
            res[f"no Cross-CPC drops {d} by >= 0.25"] = (
                c["cross_accuracy"][d] - n["cross_accuracy"][d] >= 0.25
            )
    return res


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def render_markdown(data: dict[str, Any]) -> str:
    s = data["summary"]
    lines = [
        "# Unified codebook: cross-modal generalization",
        "",
        f"Generated by `benchmarks/codebook.py` on {data['environment'].get('date', '?')}; "
        f"{data['config']['clips']} clips per set, seeds {data['config']['seeds']}, every number a median over "
        "seeds on held-out clips (misaligned pairs excluded), epochs fixed in advance (the CodebookConfig default). "
        f"Machine load at start {data.get('load_average_at_start')}.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 python benchmarks/codebook.py` (one run: "
        "`infomm codebook fit --data synthetic --seed 0 --out RUN`).",
        "",
    ]
    for name, block in s.items():
        med, dirs = block["median"], block["directions"]
        variants = [v for v in ("cmg", "baseline", "no-cpc", "paper-settings") if v in med]
        lines += [f"## {name}", ""]
        rows = []
        for d in dirs:
            rows.append(
                [f"cross-modal accuracy {d}", *(f"{med[v]['cross_accuracy'][d]:.3f}" for v in variants)]
            )
        for d in dirs:
            rows.append(
                [
                    f"clip-level cross accuracy {d}",
                    *(f"{med[v]['clip_cross_accuracy'][d]:.3f}" for v in variants),
                ]
            )
        for d in dirs:
            rows.append([f"cross / in-modality {d}", *(f"{med[v]['ratio'][d]:.3f}" for v in variants)])
        for mod in med["cmg"]["in_accuracy"]:
            rows.append(
                [f"in-modality accuracy {mod}", *(f"{med[v]['in_accuracy'][mod]:.3f}" for v in variants)]
            )
        for label, k in (
            ("code agreement per step", "agreement_step"),
            ("code agreement per clip", "agreement_clip"),
            ("codes used by both modalities", "shared_fraction"),
            ("perplexity (64 codes)", "perplexity"),
            ("seconds per run", "seconds"),
        ):
            rows.append(
                [label, *(f"{med[v][k]:.3f}" if k != "seconds" else f"{med[v][k]:.0f}" for v in variants)]
            )
        lines += _table(["metric", *variants], rows) + [""]
        toc = med["cmg"].get("toc", {})
        if toc:
            trows = [["all 32", *(f"{med['cmg']['cross_accuracy'][d]:.3f}" for d in dirs)]]
            trows += [[f"TOC {k}", *(f"{toc[k][d]:.3f}" for d in dirs)] for k in toc]
            lines += ["TOC (training-free channel selection) on the `cmg` runs, cross-modal accuracy:", ""]
            lines += _table(["channels", *dirs], trows) + [""]
        if name == "avdigits":
            lines += [
                "Why AV-digits falls short: the digits of a string are drawn independently, so Cross-CPC "
                "(which predicts the *next* steps of the other modality) has nothing to predict, and the "
                "codes keep little digit identity (in-modality accuracy ~0.2). Alignment still happens "
                "(agreement and shared codes far above the baseline, cross / in ~1), but the event "
                "structure Cross-CPC needs is missing. Holding each digit for several steps (events, "
                "as in the synthetic set and in AVE) is the next step.",
                "",
            ]
        lines += ["Targets:", ""]
        lines += [f"- {'PASS' if ok else 'FAIL'}: {k}" for k, ok in block["checks"].items()] + [""]
    return "\n".join(lines)


def run(cfg: Config, jobs: int, say: Any = print) -> dict[str, Any]:
    work = [(name, v, s) for name, variants in DATASETS.items() for s in cfg.seeds for v in variants]
    data: dict[str, Any] = {
        "environment": environment() | {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
        "config": {"clips": cfg.clips, "epochs": cfg.epochs, "seeds": list(cfg.seeds)},
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        if jobs <= 1:
            for w in work:
                data["runs"].append(unit(*w, cfg, folder))
                say(f"done {w}")
        else:
            with ProcessPoolExecutor(jobs) as pool:
                futures = [(w, pool.submit(unit, *w, cfg, folder)) for w in work]
                for w, f in futures:
                    data["runs"].append(f.result())
                    say(f"done {w}: {data['runs'][-1]['metrics']['cross_accuracy']}")
    data["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    data["summary"] = summarize(data)
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for codebook.json / codebook.md")
    p.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    p.add_argument("--render", action="store_true", help="re-render the Markdown from the JSON")
    a = p.parse_args(argv)
    if a.render:
        data = json.loads((a.out / "codebook.json").read_text())
    else:
        data = run(Config.quick() if a.quick else Config(), a.jobs)
        write_json(a.out / "codebook.json", data)
    write_text(a.out / "codebook.md", render_markdown(data))
    print(f"wrote {a.out / 'codebook.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
