"""``infomm diagnose``: how much information each modality carries, and how much they share.

For a :class:`~infomm.data.base.PairedDataset` it measures, per modality m:

* h(m): differential entropy of the modality's first ``pca_dim`` principal components,
  each standardised, as the held-out cross-entropy of a Gaussian-mixture density (an upper
  bound on h; spread over seeds). Raw pixels and spectrogram bins are high-dimensional and
  nearly degenerate, so the entropy of the raw features is not meaningful; the standardised
  principal subspace is comparable across modalities, and its Gaussian entropy
  ``pca_dim/2 * log(2 pi e)`` is the ceiling (equality means "as unstructured as noise").
  kNN entropy is not used here: real features cluster at small scales (repeated strokes,
  near-identical clips), where kNN estimates keep falling with n.
* I(m; label): the cross-fitted Barber-Agakov bound H(Y) + E log q(y|x) (spread over folds);
* for each pair (a, b): I(a; b) on the principal components with the ``auto`` estimator
  (spread over seeds);
* for each pair (a, b): how they carry the label, as sample-level redundancy, uniqueness and
  synergy (cross-fitted LSMI, :func:`infomm.interactions.sample_level.lsmi`) on each modality's first
  ``max(pca_dim, 16)`` standardised principal components, with bootstrap intervals.

It writes ``results.json``, ``report.md``, ``information.png``, and per pair
``interactions[_a_b].png`` and the per-sample atoms ``interactions[_a_b].npz`` (atomically) into
``out_dir`` and returns a :class:`DiagnoseReport`.

Example:
    >>> import numpy as np, tempfile
    >>> from infomm.data.base import PairedDataset
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 600)
    >>> ds = PairedDataset({"a": y[:, None] + rng.normal(size=(600, 4)),
    ...                     "b": y[:, None] + rng.normal(size=(600, 4))}, y, "toy")
    >>> rep = diagnose(ds, tempfile.mkdtemp(), pca_dim=2, seeds=2)
    >>> rep.label_mi["a"].value <= rep.label_entropy
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from infomm import atomic
from infomm.interactions.plots import plot_interactions
from infomm.interactions.report import interaction_markdown, interaction_table
from infomm.interactions.result import LSMIResult
from infomm.interactions.sample_level import lsmi
from infomm.interface import Estimate, InputError, Spread
from infomm.training.engine import TrainResult
from infomm.training.report import load_run, training_markdown


@dataclass
class DiagnoseReport:
    """Everything ``diagnose`` measured (values in nats)."""

    dataset: str
    n: int
    n_classes: int
    label_entropy: float
    pca_dim: int
    entropy: dict[str, Estimate] = field(default_factory=dict)
    label_mi: dict[str, Estimate] = field(default_factory=dict)
    pair_mi: dict[tuple[str, str], Estimate] = field(default_factory=dict)
    interactions: dict[tuple[str, str], LSMIResult] = field(default_factory=dict)
    interaction_rows: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    training: TrainResult | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "n": self.n,
            "n_classes": self.n_classes,
            "label_entropy": self.label_entropy,
            "pca_dim": self.pca_dim,
            "entropy": {k: v.to_dict() for k, v in self.entropy.items()},
            "label_mi": {k: v.to_dict() for k, v in self.label_mi.items()},
            "pair_mi": {f"{a}|{b}": v.to_dict() for (a, b), v in self.pair_mi.items()},
            "interactions": {
                f"{a}|{b}": {**v.to_dict(), "intervals": self.interaction_rows.get((a, b), [])}
                for (a, b), v in self.interactions.items()
            },
            "training": None if self.training is None else self.training.to_dict(),
            "files": dict(self.files),
        }


def principal_components(x: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """The first ``dim`` principal components of standardised ``x``, each scaled to unit variance."""
    sd = x.std(axis=0)
    keep = sd > 1e-8 * max(float(sd.max()), 1e-300)
    if not keep.any():
        raise InputError("a modality is constant across samples; it carries no information to measure.")
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    k = min(dim, z.shape[1], z.shape[0] - 1)
    pcs = PCA(n_components=k, random_state=seed).fit_transform(z)
    return np.asarray(pcs / pcs.std(axis=0), dtype=np.float64)


def diagnose(
    dataset: Any,
    out_dir: str | Path,
    *,
    pca_dim: int = 8,
    seed: int = 0,
    seeds: int = 3,
    progress: bool = False,
    plots: bool = True,
    interactions: bool = True,
    bootstrap: int = 1000,
    run: str | Path | None = None,
) -> DiagnoseReport:
    """Measure entropy, label information and shared information of every modality.

    Args:
        dataset: a :class:`~infomm.data.base.PairedDataset` with >= 1 modality and labels.
        out_dir: folder for ``results.json``, ``report.md`` and plots (created).
        pca_dim: principal components kept per modality for entropy and pairwise MI.
        seed: base seed of every random choice.
        seeds: repetitions (seeds) for the spread of entropies and pairwise MI.
        progress: show a progress bar.
        plots: write ``information.png`` (and ``interactions*.png``).
        interactions: run LSMI on every pair of modalities (needs >= 2 modalities).
        bootstrap: bootstrap resamples for the interaction intervals.
        run: the ``--out`` folder of an ``infomm train`` run on this dataset: its per-modality
            training dynamics (accuracy, prediction entropy, gradient norm, the method's
            coefficients per epoch) are added to the report, with its plot.
    """
    from infomm.estimators import MI_ESTIMATORS, estimate_entropy

    if pca_dim < 1:
        raise InputError(f"pca_dim={pca_dim} must be >= 1.")
    out = Path(out_dir)
    names = list(dataset.modalities)
    training = load_run(run) if run is not None else None
    labels = np.asarray(dataset.labels)
    counts = np.bincount(labels - labels.min())
    counts = counts[counts > 0]
    if counts.size < 2:
        raise InputError("the dataset has a single class; label information needs at least 2 classes.")
    prior = counts / counts.sum()
    report = DiagnoseReport(
        dataset=getattr(dataset, "name", "dataset"),
        n=len(labels),
        n_classes=int(counts.size),
        label_entropy=float(-(prior * np.log(prior)).sum()),
        pca_dim=pca_dim,
    )
    pairs = list(itertools.combinations(names, 2))
    steps = 2 * len(names) + len(pairs) * (2 if interactions else 1)
    with _steps(progress, steps) as step:
        pcs: dict[str, np.ndarray] = {}
        for m in names:
            step(f"entropy of {m}")
            pcs[m] = principal_components(dataset.flat(m), pca_dim, seed)
            report.entropy[m] = estimate_entropy(pcs[m], "mixture", spread="seeds", repeats=seeds, seed=seed)
        for m in names:
            step(f"I({m}; label)")
            feats = principal_components(dataset.flat(m), max(pca_dim, 32), seed)
            report.label_mi[m] = MI_ESTIMATORS.get("classifier")(seed=seed).estimate(feats, labels)
        for a, b in pairs:
            step(f"I({a}; {b})")
            est = MI_ESTIMATORS.get("auto")(seed=seed)
            report.pair_mi[(a, b)] = est.estimate_with_spread(
                pcs[a], pcs[b], kind="seeds", repeats=max(seeds, 2)
            )
        if interactions:
            for a, b in pairs:
                step(f"interactions of {a} and {b} (LSMI)")
                fa = principal_components(dataset.flat(a), max(pca_dim, 16), seed)
                fb = principal_components(dataset.flat(b), max(pca_dim, 16), seed)
                res = lsmi(fa, fb, labels, seed=seed)
                report.interactions[(a, b)] = res
                report.interaction_rows[(a, b)] = interaction_table(res, bootstrap, seed)
    out.mkdir(parents=True, exist_ok=True)
    if plots:
        report.files["plot"] = str(out / "information.png")
        _plot(report, out / "information.png")
        if _plot_examples(dataset, out / "examples.png"):
            report.files["examples"] = str(out / "examples.png")
    for (a, b), res in report.interactions.items():
        stem = "interactions" if len(report.interactions) == 1 else f"interactions_{a}_{b}"
        report.files[f"per_sample {a}|{b}"] = str(res.save_per_sample(out / f"{stem}.npz"))
        if plots:
            report.files[f"interactions {a}|{b}"] = str(plot_interactions(res, out / f"{stem}.png"))
    if training is not None:
        report.training = training
        plot = Path(str(run)) / "metrics.png"
        if plots and plot.is_file():
            atomic.write_bytes(out / "training.png", plot.read_bytes())
            report.files["training"] = str(out / "training.png")
    report.files["markdown"] = str(out / "report.md")
    report.files["json"] = str(out / "results.json")
    atomic.write_text(out / "report.md", to_markdown(report))
    atomic.write_json(out / "results.json", report.to_dict())
    return report


def _interval(e: Estimate) -> str:
    s: Spread | None = e.spread
    return "-" if s is None else f"[{s.low:.3f}, {s.high:.3f}] ({s.kind})"


def rows(report: DiagnoseReport) -> list[tuple[str, str, str, str]]:
    """(quantity, value, 95% interval, method) rows shared by the table and the Markdown report."""
    out = [("H(label)", f"{report.label_entropy:.3f}", "exact (plug-in)", "empirical prior")]
    ceiling = 0.5 * report.pca_dim * np.log(2 * np.pi * np.e)
    for m, e in report.entropy.items():
        out.append(
            (
                f"h({m}) [{report.pca_dim} std. PCs, max {ceiling:.2f}]",
                f"{e.value:.3f}",
                _interval(e),
                e.method,
            )
        )
    for m, e in report.label_mi.items():
        out.append((f"I({m}; label)", f"{e.value:.3f}", _interval(e), e.method))
    for (a, b), e in report.pair_mi.items():
        chosen = e.details.get("chosen", e.method)
        out.append((f"I({a}; {b}) [PCs]", f"{e.value:.3f}", _interval(e), f"auto -> {chosen}"))
    names = {"R": "redundancy", "U1": "unique to {a}", "U2": "unique to {b}", "S": "synergy"}
    for (a, b), table in report.interaction_rows.items():
        for r in table:
            if r["quantity"] not in names:
                continue
            ci = "-" if r["low"] is None else f"[{r['low']:.3f}, {r['high']:.3f}] (bootstrap)"
            label = names[r["quantity"]].format(a=a, b=b)
            out.append((f"{r['quantity']} {label} (label from {a}, {b})", f"{r['value']:.3f}", ci, "lsmi"))
    return out


def to_markdown(report: DiagnoseReport) -> str:
    """The Markdown report."""
    lines = [
        f"# infomm diagnose: {report.dataset}",
        "",
        f"{report.n} samples, {report.n_classes} classes. Values in nats; intervals span the repeats (min-max of fewer than 20, else 2.5-97.5 %).",
        "",
        "| quantity | value | interval | method |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {q} | {v} | {i} | {m} |" for q, v, i, m in rows(report)]
    lines += ["", "## Reading it", ""]
    for m, e in report.label_mi.items():
        share = e.value / report.label_entropy if report.label_entropy > 0 else float("nan")
        lines.append(f"- **{m}** recovers {share:.0%} of the label's {report.label_entropy:.2f} nats.")
    for (a, b), e in report.pair_mi.items():
        bound = min(report.label_mi[a].value, report.label_mi[b].value)
        lines.append(
            f"- **{a}** and **{b}** share {e.value:.2f} nats. If they are paired only through the label "
            f"(as in AV-digits), the data-processing inequality caps this at min I(m; label) = {bound:.2f}."
        )
    if report.training is not None:
        lines += ["", training_markdown(report.training).rstrip()]
        if "training" in report.files:
            lines += ["", "![training dynamics](training.png)"]
    flags = [(k, f) for k, e in _all(report) for f in e.flags]
    if flags:
        lines += ["", "## Warnings", ""] + [f"- {k}: {f.message}" for k, f in flags]
    if "plot" in report.files:
        lines += ["", "![information per modality](information.png)"]
    for (a, b), res in report.interactions.items():
        md = interaction_markdown(
            res, rows=report.interaction_rows[(a, b)], title=f"How {a} (X1) and {b} (X2) carry the label"
        )
        lines += ["", md.rstrip()]
        key = f"interactions {a}|{b}"
        if key in report.files:
            lines += ["", f"![interactions of {a} and {b}]({Path(report.files[key]).name})"]
    if "examples" in report.files:
        lines += ["", "One sample per class and modality:", "", "![examples](examples.png)"]
    return "\n".join(lines) + "\n"


def _all(report: DiagnoseReport) -> Iterator[tuple[str, Estimate]]:
    for m, e in report.entropy.items():
        yield f"h({m})", e
    for m, e in report.label_mi.items():
        yield f"I({m}; label)", e
    for (a, b), e in report.pair_mi.items():
        yield f"I({a}; {b})", e


def _plot(report: DiagnoseReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values, errs = [], [], []
    for key, e in _all(report):
        if key.startswith("h("):
            continue
        labels.append(key)
        values.append(e.value)
        s = e.spread
        errs.append([max(e.value - s.low, 0.0), max(s.high - e.value, 0.0)] if s else [0.0, 0.0])
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(labels), 3.6))
    ax.bar(labels, values, yerr=np.array(errs).T, capsize=4, color="#4C72B0")
    ax.axhline(report.label_entropy, color="k", ls="--", lw=1, label=f"H(label) = {report.label_entropy:.2f}")
    ax.set_ylabel("nats")
    ax.set_title(f"{report.dataset}: information per modality")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    atomic.save_figure(fig, path, dpi=120)
    plt.close(fig)


def _plot_examples(dataset: Any, path: Path, max_classes: int = 10) -> bool:
    """One sample per class for every modality whose samples are 2-D (images, spectrograms)."""
    mods = [m for m, a in dataset.modalities.items() if np.asarray(a).ndim == 3]
    if not mods:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(dataset.labels)
    classes = np.unique(labels)[:max_classes]
    fig, axes = plt.subplots(
        len(mods), len(classes), figsize=(1.2 * len(classes), 1.3 * len(mods)), squeeze=False
    )
    for r, m in enumerate(mods):
        arr = np.asarray(dataset.modalities[m])
        for c, k in enumerate(classes):
            ax = axes[r, c]
            ax.imshow(
                arr[np.nonzero(labels == k)[0][0]],
                cmap="gray_r" if r == 0 else "magma",
                aspect="auto",
                origin="upper" if arr.shape[1] == arr.shape[2] else "lower",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(k), fontsize=9)
        axes[r, 0].set_ylabel(m, fontsize=9)
    fig.tight_layout()
    atomic.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return True


@contextmanager
def _steps(show: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not show:
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("diagnose", total=total)
        count = {"done": 0}

        def step(label: str) -> None:
            bar.update(task, completed=count["done"], description=label)
            count["done"] += 1

        yield step
        bar.update(task, completed=total)


__all__ = ["DiagnoseReport", "diagnose", "principal_components", "rows", "to_markdown"]
