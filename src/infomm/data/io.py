"""Read sample arrays from files: ``.npy``, ``.npz`` (one array, or ``file.npz:key``), ``.csv``.

Every failure is an :class:`~infomm.interface.InputError` naming the file and the fix.

Example:
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "x.csv")
    >>> _ = open(p, "w").write("a,b\\n1,2\\n3,4\\n")
    >>> load_array(p).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from infomm.interface import InputError
from infomm.validation import as_samples

SUFFIXES = (".npy", ".npz", ".csv")


def load_array(path: str | Path, name: str | None = None) -> np.ndarray:
    """Load an (n, d) float64 array from ``path`` and validate it (finite, numeric, 1-D or 2-D).

    ``.npz`` files must hold exactly one array unless a key is given as ``file.npz:key``.
    ``.csv`` files need one header row and numeric columns.
    """
    spec = str(path)
    key = None
    if ".npz:" in spec:
        spec, key = spec.split(".npz:", 1)
        spec += ".npz"
    p = Path(spec)
    label = name or p.name
    if not p.exists():
        raise InputError(f"{label}: file {str(p)!r} does not exist; check the path.")
    if p.is_dir():
        raise InputError(f"{label}: {str(p)!r} is a folder; pass a .npy, .npz or .csv file.")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{label}: unsupported file type {suffix or '(none)'!r}; use .npy, .npz or .csv.")
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            arr = _load_npz(p, key, label)
        else:
            arr = _load_csv(p, label)
    except InputError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(
            f"{label}: cannot read {str(p)!r} as {suffix} ({exc}); is the file corrupt?"
        ) from None
    return as_samples(arr, label, min_n=1)


def _load_npz(p: Path, key: str | None, label: str) -> np.ndarray:
    with np.load(p, allow_pickle=False) as z:
        keys = list(z.keys())
        if key is not None:
            if key not in keys:
                raise InputError(f"{label}: no array {key!r} in {p.name}; it holds {keys}.")
            return np.asarray(z[key])
        if len(keys) != 1:
            raise InputError(
                f"{label}: {p.name} holds {len(keys)} arrays {keys}; pick one with '{p.name}:KEY'."
            )
        return np.asarray(z[keys[0]])


def _load_csv(p: Path, label: str) -> np.ndarray:
    with p.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise InputError(f"{label}: {p.name} has no data rows; a CSV needs one header row then numeric rows.")
    header, body = rows[0], [r for r in rows[1:] if r]
    out = np.empty((len(body), len(header)), dtype=np.float64)
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise InputError(
                f"{label}: row {i + 2} of {p.name} has {len(row)} fields but the header has {len(header)}."
            )
        for j, cell in enumerate(row):
            try:
                out[i, j] = float(cell)
            except ValueError:
                raise InputError(
                    f"{label}: {p.name} row {i + 2}, column {header[j]!r} holds {cell!r}, not a number; "
                    "keep only numeric columns."
                ) from None
    return out
