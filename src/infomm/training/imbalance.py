"""The imbalance index IB: how much joint training costs each modality's encoder.

::

    dataset --train(method)--------> joint model  --encoder_m (frozen)--> features --+
       |                                                                             +--> linear probe
       +--{m} only, train("concat")-> alone model --encoder_m (frozen)--> features --+    (train split,
                                                                                          test accuracy)
    IB = 100 * max_m | acc_probe(joint encoder_m) - acc_probe(alone encoder_m) |   (percentage points)

A modality that joint training leaves under-trained ("modality laziness", "modality
competition") has a worse joint encoder than the same encoder trained on that modality alone,
so its probe accuracy drops; IB is the largest such gap over modalities. The encoder-probe
comparison follows Du, Teng, Li, Liu, Yuan, Wang, Yuan & Zhao (2023), "On Uni-Modal Feature
Learning in Supervised Multi-Modal Learning", ICML (linear evaluation of frozen uni-modal
encoders from multi-modal vs uni-modal training: "modality laziness"); the gap it measures is
the imbalance analysed by Peng, Wei, Deng, Wang & Hu (2022), "Balanced Multimodal Learning via
On-the-fly Gradient Modulation", CVPR (Sec. 3: the dominant modality's share of the fused
logits shrinks the other encoder's gradient; the discrepancy ratio of Eq. 6-9).

Every run uses the same split and seed, and the probes see the inputs exactly as the models did
(the engine's per-modality z-scoring with train-split statistics).

The optimiser matters. With the engine's AdamW default, plain concatenation on preset B leaves
each encoder within about 2 probe points of its unimodal twin (3 seeds: IB 2.1 +- 0.6, from
``imbalance_index(load_preset("B", seed=s), "concat", seed=s)``): Adam's
per-parameter normalisation gives the starved encoder full-size steps anyway. Under the papers'
protocol (:data:`infomm.training.PAPER_PROTOCOL`: SGD, lr 1e-3, momentum 0.9, 40 epochs) the
audio encoder is the lazy one (IB 9.4 +- 2.5 over 5 seeds, ``benchmarks/balancing.py``); pass
``**PAPER_PROTOCOL`` to study it.

Reading IB: a probe accuracy ``p`` on a test split of ``n`` rows has a standard error of about
``sqrt(p (1 - p) / n)`` (2.4 points for p = 0.7, n = 360), so gaps of 2-3 points are within
noise, and IB, a maximum of absolute gaps, is biased upwards by it: average over seeds. A gap
is also bounded by the modality's headroom: a probe on an *untrained* encoder already reads
much of an easy input (8x8 digits: about 0.9), so the encoder can lose at most the difference
between its unimodal and its untrained probe accuracy.

Example:
    >>> import numpy as np, types, torch
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50)
    >>> x = torch.as_tensor(y[:, None] * 4.0 + rng.normal(size=(100, 2)), dtype=torch.float32)
    >>> model = types.SimpleNamespace(encoders={"x": torch.nn.Identity()})
    >>> probe_accuracy(model, "x", {"x": x}, y, (np.arange(0, 100, 2), np.arange(1, 100, 2)))
    1.0
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infomm.data.base import PairedDataset
from infomm.interface import InputError
from infomm.training.engine import TrainConfig, _prepare, train


@dataclass
class ImbalanceResult:
    """The imbalance index of one joint run and its unimodal references.

    Attributes:
        ib: ``100 * max_m |joint[m] - alone[m]|``, in percentage points.
        joint: modality -> probe test accuracy (fraction) of the jointly trained encoder.
        alone: modality -> probe test accuracy (fraction) of the encoder trained on the modality alone.
        method: the joint run's balancing method.
        test: the joint run's test metrics (:attr:`TrainResult.test`).
        alone_test: modality -> test accuracy of the unimodal run's own classifier.
    """

    ib: float
    joint: dict[str, float]
    alone: dict[str, float]
    method: str
    test: dict[str, float] = field(default_factory=dict)
    alone_test: dict[str, float] = field(default_factory=dict)

    @property
    def gaps(self) -> dict[str, float]:
        """modality -> ``100 * (joint - alone)`` in points (negative: joint training hurt the encoder)."""
        return {m: 100.0 * (self.joint[m] - self.alone[m]) for m in self.joint}

    @property
    def most_affected(self) -> str:
        """The modality whose gap sets IB."""
        return max(self.gaps, key=lambda m: abs(self.gaps[m]))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (reports, benchmarks)."""
        return {
            "ib": self.ib,
            "method": self.method,
            "joint": self.joint,
            "alone": self.alone,
            "gaps": self.gaps,
            "most_affected": self.most_affected,
            "test": self.test,
            "alone_test": self.alone_test,
        }


@torch.no_grad()
def _features(encoder: Any, x: Any) -> np.ndarray:
    was = getattr(encoder, "training", False)
    if hasattr(encoder, "eval"):
        encoder.eval()
    feats = encoder(torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32))
    if hasattr(encoder, "train"):
        encoder.train(was)
    return np.asarray(feats.detach().cpu().numpy(), dtype=np.float64).reshape(feats.shape[0], -1)


def probe_accuracy(
    model: Any,
    modality: str,
    arrays: Mapping[str, Any],
    labels: Any,
    splits: Sequence[np.ndarray],
    *,
    max_iter: int = 1000,
) -> float:
    """Test accuracy (fraction) of a linear probe on the frozen features of ``model.encoders[modality]``.

    The probe is scikit-learn's multinomial ``LogisticRegression`` (L2, C = 1) on standardized
    features of the train split (``splits[0]``), scored on the test split (``splits[-1]``).

    Args:
        model: anything with ``encoders[modality]``, a callable from (n, d) float tensors to
            features (n, ...), e.g. a :class:`~infomm.models.LateFusion`.
        modality: which encoder. arrays: modality -> the (n, d) inputs the model was trained on.
        labels: (n,) integer labels. splits: (train, [val,] test) row indices.
        max_iter: the probe's iteration limit.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    encoders = getattr(model, "encoders", None)
    if encoders is None or modality not in encoders:
        raise InputError(
            f"modality={modality!r}: the model has no encoders[{modality!r}]; pass a model with an "
            "encoder per modality (e.g. a LateFusion) and one of its modality names."
        )
    if modality not in arrays:
        raise InputError(f"modality={modality!r} is not in arrays (keys {sorted(arrays)}); pass its inputs.")
    if len(splits) < 2:
        raise InputError(
            f"splits has {len(splits)} part(s); pass (train, test) or (train, val, test) indices."
        )
    y = np.asarray(labels.cpu() if torch.is_tensor(labels) else labels).astype(np.int64)
    tr, te = np.asarray(splits[0]), np.asarray(splits[-1])
    if np.unique(y[tr]).size < 2:
        raise InputError("the train split holds a single class; a probe needs at least two.")
    feats = _features(encoders[modality], arrays[modality])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(feats[tr], y[tr])
    return float(probe.score(feats[te], y[te]))


def imbalance_index(
    dataset: PairedDataset,
    method: str = "concat",
    *,
    epochs: int = 20,
    seed: int = 0,
    out_dir: str | Path | None = None,
    **train_options: Any,
) -> ImbalanceResult:
    """Train ``dataset`` jointly with ``method`` and each modality alone ("concat"), then probe the encoders.

    Args:
        dataset: a :class:`PairedDataset` with at least two modalities.
        method: the joint run's balancing method (a name in :data:`infomm.balancing.BALANCERS`).
        epochs, seed: for every run (so all share one split).
        out_dir: keeps the runs in ``out_dir/joint`` and ``out_dir/alone-<modality>``; None: a
            temporary folder, removed afterwards.
        train_options: more :func:`~infomm.training.train` options (``TrainConfig`` fields such as
            ``batch_size``, ``lr``; ``method_options`` goes to the joint run only).

    Returns:
        :class:`ImbalanceResult`; ``ib`` in percentage points.
    """
    if not isinstance(dataset, PairedDataset) or len(dataset.modalities) < 2:
        raise InputError(
            "dataset must be a PairedDataset with at least two modalities (IB compares joint and "
            "unimodal training)."
        )
    train_options = dict(train_options)
    train_options.pop("resume", None)
    method_options = train_options.pop("method_options", None)
    with tempfile.TemporaryDirectory(prefix="infomm-ib-") as tmp:
        root = Path(out_dir) if out_dir is not None else Path(tmp)
        common = {"epochs": epochs, "seed": seed, "resume": False, **train_options}
        joint = train(dataset, method, root / "joint", method_options=method_options, **common)
        arrays, labels, splits = _prepare(dataset, TrainConfig(**joint.config))
        joint_acc, alone_acc, alone_test = {}, {}, {}
        for m in dataset.modality_names:
            one = PairedDataset({m: dataset.modalities[m]}, dataset.labels, f"{dataset.name}[{m}]")
            alone = train(one, "concat", root / f"alone-{m}", **common)
            if any(not np.array_equal(a, b) for a, b in zip(alone.splits, splits, strict=True)):
                raise RuntimeError(
                    "the unimodal run used another split than the joint run"
                )  # pragma: no cover
            joint_acc[m] = probe_accuracy(joint.model, m, arrays, labels, splits)
            alone_acc[m] = probe_accuracy(alone.model, m, arrays, labels, splits)
            alone_test[m] = float(alone.test["accuracy"])
    ib = 100.0 * max(abs(joint_acc[m] - alone_acc[m]) for m in joint_acc)
    return ImbalanceResult(ib, joint_acc, alone_acc, joint.method, dict(joint.test), alone_test)
