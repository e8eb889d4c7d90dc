"""Paired sequences: several modalities observed at the same time steps of the same clips.

:class:`PairedSequences` is the currency of the codebook part (:mod:`infomm.codebook`): step
``t`` of clip ``i`` in every modality is the same moment, so a code learnt on one modality can be
compared with the code of its time-paired partner. Each clip has an integer class; each step may
also carry a label (``-1`` = background, outside the event window).

Example:
    >>> import numpy as np
    >>> seqs = PairedSequences({"a": np.zeros((4, 5, 3)), "v": np.ones((4, 5, 2))},
    ...                        np.array([0, 1, 0, 1]), name="toy")
    >>> len(seqs), seqs.steps, seqs.dims
    (4, 5, {'a': 3, 'v': 2})
    >>> seqs.subset([1, 3]).labels.tolist()
    [1, 1]
    >>> seqs.step_labels[0].tolist()  # no step labels given: every step carries the clip class
    [0, 0, 0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infomm.data.base import checked_row_meta
from infomm.interface import InputError


@dataclass
class PairedSequences:
    """Time-paired sequences of several modalities, one class per clip.

    Attributes:
        modalities: modality name -> float32 array (n_clips, T, d_m); the same T for all.
        labels: clip classes, shape (n_clips,), int64 in [0, n_classes).
        step_labels: (n_clips, T) int64, the class at each step or ``-1`` for background;
            ``None`` means every step carries its clip's class.
        name: a short identifier (``"cmg-synthetic"``, ``"ave"``, ...).
        meta: dataset-level facts (generator parameters, source files ...).
        row_meta: per-clip extras, name -> array (n_clips, ...), sliced with the clips
            (e.g. ``aligned``: whether the clip's modalities really are time-paired).

    Raises:
        InputError: on fewer than two modalities, arrays that are not (n, T, d), mismatched
            clip counts or lengths, non-finite values, non-integer or negative labels.
    """

    modalities: dict[str, np.ndarray]
    labels: np.ndarray
    step_labels: np.ndarray | None = None
    name: str = "sequences"
    meta: dict[str, Any] = field(default_factory=dict)
    row_meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.modalities, Mapping) or len(self.modalities) < 2:
            raise InputError(
                f"modalities has {len(self.modalities) if isinstance(self.modalities, Mapping) else 0} "
                "entries; paired sequences need a dict of >= 2 modality name -> array (n_clips, T, d)."
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(
                f"labels has shape {labels.shape} and dtype {labels.dtype}; pass a non-empty 1-D integer "
                "array with one class per clip."
            )
        if labels.min() < 0:
            raise InputError(f"labels has a negative class ({labels.min()}); classes start at 0.")
        n = labels.shape[0]
        mods: dict[str, np.ndarray] = {}
        steps: int | None = None
        for key, value in self.modalities.items():
            arr = np.asarray(value)
            if not np.issubdtype(arr.dtype, np.number):
                raise InputError(f"modality {key!r} has dtype {arr.dtype}; pass a numeric array.")
            if arr.ndim != 3 or arr.shape[0] != n:
                raise InputError(
                    f"modality {key!r} has shape {arr.shape}; it must be (n_clips={n}, T, d): one row "
                    "per clip, one vector per time step."
                )
            if steps is not None and arr.shape[1] != steps:
                raise InputError(
                    f"modality {key!r} has {arr.shape[1]} steps but the others have {steps}; "
                    "time-paired modalities need the same T (resample or crop first)."
                )
            steps = arr.shape[1]
            arr = arr.astype(np.float32, copy=False)
            if not np.isfinite(arr).all():
                raise InputError(f"modality {key!r} has non-finite values (NaN or inf); clean them first.")
            mods[key] = arr
        assert steps is not None
        self.modalities = mods
        self.labels = labels.astype(np.int64, copy=False)
        if self.step_labels is None:
            self.step_labels = np.repeat(self.labels[:, None], steps, axis=1)
        sl = np.asarray(self.step_labels)
        if sl.shape != (n, steps) or not np.issubdtype(sl.dtype, np.integer):
            raise InputError(
                f"step_labels has shape {sl.shape} and dtype {sl.dtype}; pass integers of shape "
                f"({n}, {steps}) (-1 for background steps)."
            )
        self.step_labels = sl.astype(np.int64, copy=False)
        self.meta = dict(self.meta)
        self.row_meta = checked_row_meta(self.row_meta, n, "clip")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def modality_names(self) -> list[str]:
        """Names of the modalities, in insertion order."""
        return list(self.modalities)

    @property
    def steps(self) -> int:
        """Time steps per clip (T)."""
        return int(next(iter(self.modalities.values())).shape[1])

    @property
    def dims(self) -> dict[str, int]:
        """Feature size per modality."""
        return {k: int(v.shape[2]) for k, v in self.modalities.items()}

    @property
    def n_classes(self) -> int:
        """Number of clip classes (max label + 1)."""
        return int(self.labels.max()) + 1

    def subset(self, idx: Any) -> PairedSequences:
        """Clips ``idx`` (integer indices or a boolean mask) as a new :class:`PairedSequences`."""
        arr = np.asarray(idx)
        rows = np.nonzero(arr)[0] if arr.dtype == np.bool_ else arr.astype(np.int64).reshape(-1)
        if rows.size == 0:
            raise InputError("idx selects no clips; a subset needs at least one.")
        if rows.min() < 0 or rows.max() >= len(self):
            raise InputError(f"idx has values outside [0, {len(self) - 1}]; pass valid clip indices.")
        assert self.step_labels is not None
        return PairedSequences(
            {k: v[rows] for k, v in self.modalities.items()},
            self.labels[rows],
            self.step_labels[rows],
            self.name,
            dict(self.meta),
            {k: v[rows] for k, v in self.row_meta.items()},
        )
