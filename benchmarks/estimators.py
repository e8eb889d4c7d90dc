"""Run the full estimator benchmark and write ``results/estimators.json`` and ``results/estimators.md``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/estimators.py            # full run (under 5 minutes on 2 cores)
    python benchmarks/estimators.py --quick --out /tmp/bench      # smoke run
    python benchmarks/estimators.py --render                      # re-render the Markdown from the JSON files

The logic lives in :mod:`infomm.bench`; this script only parses arguments and writes files
(atomically). The KSG targets are checked on the row ``ksg (rank, k=1, extrapolated)`` (KSG
with ``k=1, transform="rank", correction="extrapolate"``, 200 seeds; see
:func:`infomm.bench.default_methods`); the plain ``ksg`` rows are reported beside it, and the
``std`` column shows what the correction costs in spread. ``--methods ksg knn`` re-runs only
the rows of those targets. If ``results/torch_mist.json`` exists (written by ``compare_torch_mist.py``),
its side-by-side table is added to the Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infomm.atomic import write_json, write_text
from infomm.bench import MethodSpec, default_methods, render_markdown, run_benchmark

RESULTS = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="samples per task (default 5000; 1000 with --quick)")
    p.add_argument("--seeds", type=int, default=None, help="override every method's number of seeds")
    p.add_argument("--quick", action="store_true", help="few methods and tasks (a smoke run)")
    p.add_argument("--methods", nargs="*", default=None, help="registry names to run (default: all)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the result files")
    p.add_argument("--render", action="store_true", help="only re-render the Markdown from the JSON files")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def render(out: Path) -> str:
    data = json.loads((out / "estimators.json").read_text())
    mist_path = out / "torch_mist.json"
    mist = json.loads(mist_path.read_text()) if mist_path.exists() else None
    text = render_markdown(data, mist)
    write_text(out / "estimators.md", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        render(args.out)
        return 0
    specs = default_methods(args.quick)
    if args.methods:
        specs = [s for s in specs if s.name in args.methods] + [
            MethodSpec(m) for m in args.methods if m not in {s.name for s in specs}
        ]
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    result = run_benchmark(specs, n=args.n, seeds=args.seeds, quick=args.quick, jobs=args.jobs, progress=say)
    write_json(args.out / "estimators.json", result.to_dict())
    text = render(args.out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
