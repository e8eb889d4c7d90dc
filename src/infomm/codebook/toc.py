"""Training-free codebook optimisation (TOC): keep the code channels that separate codes best.

Each channel c of the trained codebook gets ``0.3 * Var_k(e_kc) - 0.7 * mean_{i != j} e_ic e_jc``
(:func:`infomm.functional.quantization.toc_scores`); the ``keep`` best channels are kept, the
nearest-code search and the code vectors use only them. No label and no retraining: the frozen
encoder and codebook are re-read through a channel mask, then evaluated as before.

Reference: Huang et al. (2024), "Unlocking the Potential of Multimodal Unified Discrete
Representation through Training-Free Codebook Optimization and Hierarchical Alignment",
arXiv 2403.05168, Sec. 3.2 (TOC: the channel score, Eq. 9-11, and top-channel selection).

Example:
    >>> import torch
    >>> book = torch.tensor([[1.0, 3.0, 0.5], [-1.0, 3.0, -0.5]])  # channel 1 is a constant offset
    >>> toc_channels(book, 2).tolist()
    [0, 2]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.codebook.evaluate import encode_sequences, evaluate_codes
from infomm.data.sequences import PairedSequences
from infomm.functional.quantization import toc_scores
from infomm.interface import InputError


def toc_channels(codebook: Tensor, keep: int) -> Tensor:
    """Indices (ascending) of the ``keep`` channels of ``codebook`` (K, D) with the highest TOC score."""
    d = int(codebook.shape[1])
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= d:
        raise InputError(f"keep={keep!r} must be an integer in [1, {d}] (the code dimension).")
    scores = toc_scores(codebook.double())
    return torch.sort(torch.topk(scores, keep).indices).values


def toc_evaluate(
    model: Any, seqs: PairedSequences, train: np.ndarray, test: np.ndarray, keep: int, *, seed: int = 0
) -> dict[str, Any]:
    """Held-out metrics of ``model`` read through its ``keep`` best TOC channels, beside the full codebook.

    Returns ``{"keep", "channels", "scores", "full": metrics, "toc": metrics}`` (metrics of
    :func:`~infomm.codebook.evaluate.evaluate_codes`).
    """
    book = model.vq.codebook.detach().cpu()
    channels = toc_channels(book, keep)
    full_idx, full_vec = encode_sequences(model, seqs)
    full = evaluate_codes(full_idx, full_vec, seqs, train, test, model.config.n_codes, seed=seed)
    idx, vec = encode_sequences(model, seqs, channels=channels)
    toc = evaluate_codes(idx, vec, seqs, train, test, model.config.n_codes, seed=seed)
    return {
        "keep": keep,
        "channels": channels.tolist(),
        "scores": toc_scores(book.double()).tolist(),
        "full": full,
        "toc": toc,
    }
