"""Cross-modal generalization of a frozen codebook model.

A linear head (scikit-learn logistic regression) is trained on the code vectors of one
modality's event steps in the training clips and tested, unchanged, on another modality's code
vectors of the held-out clips. The same head trained and tested on the target modality is the
in-modality (upper) reference. Misaligned clips (``row_meta["aligned"] == False``) are left out of
every head and every agreement count: their partner's steps belong to another clip.

Metrics ("event": a run of consecutive steps with one label; the synthetic clips have one event
each, so per event is per clip; an AV-digit string has one event per digit):
    cross_accuracy["a->b"]: head on a, tested on b (event steps). clip_cross_accuracy: majority
    vote of the step predictions over each event's steps. in_accuracy[m]: head on m, tested
    on m. ratio["a->b"] = cross_accuracy / in_accuracy[b]. agreement_step: fraction of held-out
    event steps whose codes agree across all modalities. agreement_clip: fraction of held-out
    events whose most frequent code agrees across all modalities. perplexity: exp(entropy) of held-out code usage (all
    modalities pooled). shared_fraction: of the codes used by some modality (>= 1% of its held-out
    steps), the fraction used by every modality.

Reference: Xia et al. (2023), NeurIPS, Sec. 4.1 (cross-modal generalization protocol: a
downstream head trained on one modality's unified codes, evaluated on another's).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from typing import Any

import numpy as np
import torch

from infomm.data.sequences import PairedSequences
from infomm.interface import InputError

USED_SHARE = 0.01


def encode_sequences(
    model: Any, seqs: PairedSequences, batch: int = 256, channels: Any = None
) -> tuple[dict[str, np.ndarray], ...]:
    """Codes of every clip with the frozen model: ``(indices (n, T), code vectors (n, T, D))`` per
    modality; ``channels`` restricts the code channels (see ``CodebookModel.encode``)."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    idx: dict[str, list[np.ndarray]] = {m: [] for m in model.modalities}
    vec: dict[str, list[np.ndarray]] = {m: [] for m in model.modalities}
    with torch.no_grad():
        for start in range(0, len(seqs), batch):
            x = {
                m: torch.as_tensor(seqs.modalities[m][start : start + batch], device=device)
                for m in model.modalities
            }
            i, q = model.encode(x, channels)
            for m in model.modalities:
                idx[m].append(i[m].cpu().numpy())
                vec[m].append(q[m].cpu().numpy())
    model.train(was)
    return {m: np.concatenate(v) for m, v in idx.items()}, {m: np.concatenate(v) for m, v in vec.items()}


def _mode(codes: np.ndarray) -> int:
    return int(np.bincount(codes).argmax())


def evaluate_codes(
    indices: dict[str, np.ndarray],
    vectors: dict[str, np.ndarray],
    seqs: PairedSequences,
    train: Sequence[int] | np.ndarray,
    test: Sequence[int] | np.ndarray,
    n_codes: int,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """All cross-modal generalization metrics from precomputed codes (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    tr, te = np.asarray(train), np.asarray(test)
    aligned = np.asarray(seqs.row_meta.get("aligned", np.ones(len(seqs), dtype=bool)), dtype=bool)
    tr, te = tr[aligned[tr]], te[aligned[te]]
    assert seqs.step_labels is not None
    sl = seqs.step_labels
    if (sl[tr] >= 0).sum() < 2 or (sl[te] >= 0).sum() < 1:
        raise InputError("the split has no labelled (event) steps in train or test; check step_labels.")
    mods = list(indices)

    def rows(clips: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mask of labelled steps, their labels, and the event each belongs to (a run of equal labels)."""
        lab = sl[clips]
        mask = lab >= 0
        starts = mask & np.concatenate([np.ones((lab.shape[0], 1), bool), lab[:, 1:] != lab[:, :-1]], axis=1)
        event = np.cumsum(starts.ravel()).reshape(lab.shape) - 1
        return mask, lab[mask], event[mask]

    tr_mask, y_tr, _ = rows(tr)
    te_mask, y_te, event_te = rows(te)
    events = np.unique(event_te)
    event_label = np.array([y_te[event_te == e][0] for e in events])
    heads = {}
    for m in mods:
        head = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        head.fit(vectors[m][tr][tr_mask], y_tr)
        heads[m] = head

    def accuracy(pred: np.ndarray) -> tuple[float, float]:
        step = float((pred == y_te).mean())
        votes = np.array([_mode(pred[event_te == e]) for e in events])
        return step, float((votes == event_label).mean())

    preds = {(s, t): heads[s].predict(vectors[t][te][te_mask]) for s in mods for t in mods}
    in_acc = {m: accuracy(preds[m, m]) for m in mods}
    cross = {f"{s}->{t}": accuracy(preds[s, t]) for s, t in permutations(mods, 2)}
    ev = {m: indices[m][te][te_mask] for m in mods}
    stacked = np.stack([ev[m] for m in mods])
    agree_step = float((stacked == stacked[0]).all(0).mean())
    clip_codes = np.array([[_mode(ev[m][event_te == e]) for m in mods] for e in events])
    agree_clip = float((clip_codes == clip_codes[:, :1]).all(1).mean())
    all_codes = np.concatenate([indices[m][te].ravel() for m in mods])
    p = np.bincount(all_codes, minlength=n_codes) / all_codes.size
    ppl = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    used = []
    for m in mods:
        share = np.bincount(indices[m][te].ravel(), minlength=n_codes) / indices[m][te].size
        used.append(share >= USED_SHARE)
    used_arr = np.stack(used)
    any_used = used_arr.any(0).sum()
    shared = float(used_arr.all(0).sum() / any_used) if any_used else 0.0
    return {
        "cross_accuracy": {k: v[0] for k, v in cross.items()},
        "clip_cross_accuracy": {k: v[1] for k, v in cross.items()},
        "in_accuracy": {m: v[0] for m, v in in_acc.items()},
        "clip_in_accuracy": {m: v[1] for m, v in in_acc.items()},
        "ratio": {k: cross[k][0] / max(in_acc[k.split("->")[1]][0], 1e-12) for k in cross},
        "agreement_step": agree_step,
        "agreement_clip": agree_clip,
        "perplexity": ppl,
        "shared_fraction": shared,
        "codes_used": int(any_used),
        "n_test_clips": int(te.size),
        "n_test_steps": int(te_mask.sum()),
        "chance": 1.0 / seqs.n_classes,
    }
