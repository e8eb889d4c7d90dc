"""A small container for paired multimodal samples with labels.

:class:`PairedDataset` holds one array per modality (row ``i`` of every array is the same
sample) plus an integer label per row. It is the common currency of the built-in real-data
sets (AV-digits, ...): estimators take :meth:`PairedDataset.flat` views, models take
:meth:`PairedDataset.to_torch`.

Example:
    >>> import numpy as np
    >>> ds = PairedDataset({"a": np.zeros((4, 2, 3)), "b": np.ones((4, 5))}, np.array([0, 1, 0, 1]), "toy")
    >>> len(ds), ds.flat("a").shape, ds.flat("b").dtype
    (4, (4, 6), dtype('float64'))
    >>> ds.subset([1, 3]).labels.tolist()
    [1, 1]
    >>> x, y = ds.to_torch()[2]
    >>> sorted(x), int(y)
    (['a', 'b'], 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from infomm.interface import InputError

if TYPE_CHECKING:
    from torch.utils.data import Dataset


def checked_row_meta(row_meta: Mapping[str, Any], n: int, unit: str) -> dict[str, np.ndarray]:
    """``row_meta`` as arrays, each with ``n`` rows (one per ``unit``), else an :class:`InputError`."""
    rows = {k: np.asarray(v) for k, v in dict(row_meta).items()}
    for key, arr in rows.items():
        if arr.ndim < 1 or arr.shape[0] != n:
            raise InputError(f"row_meta[{key!r}] has shape {arr.shape}; it needs {n} rows, one per {unit}.")
    return rows


@dataclass
class PairedDataset:
    """Paired samples of several modalities with one integer label per row.

    Attributes:
        modalities: modality name -> array of shape (n, ...) (stored as float32).
        labels: shape (n,), int64.
        name: a short identifier such as ``"avdigits"``.
        meta: dataset-level facts (parameters it was built with, sample rate ...); copied
            unchanged by :meth:`subset`.
        row_meta: per-row extras, name -> array (n, ...) (e.g. which audio clip a row uses);
            sliced by :meth:`subset` with the rows.

    Raises:
        InputError: when a modality has a different number of rows than ``labels``, is
            empty, non-numeric or non-finite, or when ``labels`` is not 1-D integer.
    """

    modalities: dict[str, np.ndarray]
    labels: np.ndarray
    name: str = "paired"
    meta: dict[str, Any] = field(default_factory=dict)
    row_meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.modalities, Mapping) or len(self.modalities) == 0:
            raise InputError(
                f"modalities={self.modalities!r} must be a non-empty dict of name -> array (n, ...)."
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
            raise InputError(
                f"labels has shape {labels.shape} and dtype {labels.dtype}; pass a 1-D integer array (n,)."
            )
        n = labels.shape[0]
        if n == 0:
            raise InputError("labels is empty; a PairedDataset needs at least one sample.")
        self.labels = labels.astype(np.int64, copy=False)
        mods: dict[str, np.ndarray] = {}
        for key, value in self.modalities.items():
            if not isinstance(key, str) or not key:
                raise InputError(f"modality name {key!r} must be a non-empty string.")
            arr = np.asarray(value)
            if not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
                raise InputError(f"modality {key!r} has dtype {arr.dtype}; pass a numeric array.")
            if arr.ndim < 1 or arr.shape[0] != n:
                raise InputError(
                    f"modality {key!r} has shape {arr.shape} but labels has {n} rows; every modality "
                    "needs one row per label (row i of each array is the same sample)."
                )
            arr = arr.astype(np.float32, copy=False)
            if not np.isfinite(arr).all():
                raise InputError(f"modality {key!r} has non-finite values (NaN or inf); clean them first.")
            mods[key] = arr
        self.modalities = mods
        self.meta = dict(self.meta)
        self.row_meta = checked_row_meta(self.row_meta, n, "label")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def modality_names(self) -> list[str]:
        """Names of the modalities, in insertion order."""
        return list(self.modalities)

    def _get(self, modality: str) -> np.ndarray:
        if modality not in self.modalities:
            raise InputError(
                f"modality={modality!r} is not in this dataset; choose one of {self.modality_names}."
            )
        return self.modalities[modality]

    def flat(self, modality: str) -> np.ndarray:
        """Return ``modality`` as a (n, d) float64 array (each sample flattened), for estimators."""
        arr = self._get(modality)
        return arr.reshape(arr.shape[0], -1).astype(np.float64)

    def subset(self, idx: Any) -> PairedDataset:
        """Rows ``idx`` (integer indices, a boolean mask of length n, or a slice) as a new dataset."""
        n = len(self)
        if isinstance(idx, slice):
            rows = np.arange(n)[idx]
        else:
            arr = np.asarray(idx)
            if arr.dtype == np.bool_:
                if arr.shape != (n,):
                    raise InputError(
                        f"idx is a boolean mask of shape {arr.shape}; it must have shape ({n},)."
                    )
                rows = np.nonzero(arr)[0]
            elif np.issubdtype(arr.dtype, np.integer) or arr.size == 0:
                rows = arr.astype(np.int64).reshape(-1)
                if rows.size and (rows.min() < -n or rows.max() >= n):
                    raise InputError(f"idx has values outside [-{n}, {n - 1}]; pass valid row indices.")
            else:
                raise InputError(
                    f"idx has dtype {arr.dtype}; pass integer row indices, a boolean mask or a slice."
                )
        if rows.size == 0:
            raise InputError("idx selects no rows; a PairedDataset needs at least one sample.")
        mods = {k: v[rows] for k, v in self.modalities.items()}
        extra = {k: v[rows] for k, v in self.row_meta.items()}
        return PairedDataset(mods, self.labels[rows], self.name, dict(self.meta), extra)

    def to_torch(self) -> Dataset:
        """A map-style :class:`torch.utils.data.Dataset` yielding ``({modality: tensor}, label)``.

        Tensors are float32 views of the stored arrays (no copy); labels are int64 scalars, so
        the default ``DataLoader`` collation gives ``({modality: (B, ...)}, (B,))``.
        """
        return _torch_paired_class()(self)  # type: ignore[no-any-return]


def _torch_paired_class() -> type:
    """Build the torch view class on first use, so importing this module does not import torch."""
    global _TORCH_PAIRED
    if _TORCH_PAIRED is None:
        import torch
        from torch.utils.data import Dataset

        class _TorchPaired(Dataset):
            """torch view of a :class:`PairedDataset`: ``({modality: tensor}, label)`` per row."""

            def __init__(self, ds: PairedDataset) -> None:
                self.tensors = {
                    k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ds.modalities.items()
                }
                self.labels = torch.from_numpy(np.ascontiguousarray(ds.labels))

            def __len__(self) -> int:
                return int(self.labels.shape[0])

            def __getitem__(self, i: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
                return {k: v[i] for k, v in self.tensors.items()}, self.labels[i]

        _TorchPaired.__module__ = __name__
        _TorchPaired.__qualname__ = "_TorchPaired"
        _TORCH_PAIRED = _TorchPaired
    return _TORCH_PAIRED


_TORCH_PAIRED: type | None = None


def __getattr__(name: str) -> Any:
    # lets pickle (DataLoader workers) find the lazily built class by its module-level name
    if name == "_TorchPaired":
        return _torch_paired_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
