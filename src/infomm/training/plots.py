"""The per-epoch plot of a training run: per-modality accuracy, prediction entropy, gradient norm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infomm import atomic


def plot_history(result: Any, path: str | Path) -> Path:
    """Write a 3-panel figure (validation accuracy, mean prediction entropy, encoder gradient norm
    per modality, per epoch) of a :class:`~infomm.training.engine.TrainResult` to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = result.history
    epochs = [h["epoch"] for h in hist]
    mods = sorted({k.split("/", 1)[1] for h in hist for k in h if k.startswith("val/accuracy/")})
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(epochs, [h.get("val/accuracy", float("nan")) for h in hist], "k-", label="fused")
    for m in mods:
        axes[0].plot(epochs, [h.get(f"val/accuracy/{m}", float("nan")) for h in hist], label=f"{m} head")
        axes[1].plot(epochs, [h.get(f"val/entropy/{m}", float("nan")) for h in hist], label=m)
        axes[2].plot(epochs, [h.get(f"grad_norm/{m}", float("nan")) for h in hist], label=m)
    for ax, title in zip(
        axes, ("validation accuracy", "mean prediction entropy (nats)", "encoder gradient norm"), strict=True
    ):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    axes[2].set_yscale("log")
    fig.suptitle(f"{result.method}: fused test accuracy {result.test.get('accuracy', float('nan')):.3f}")
    fig.tight_layout()
    out = Path(path)
    atomic.save_figure(fig, out, dpi=110)
    plt.close(fig)
    return out
