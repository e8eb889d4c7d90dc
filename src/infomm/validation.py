"""Input checks shared by every estimator and the CLI.

Each check raises :class:`~infomm.interface.InputError` with a message that names the
argument, the offending value and the fix, so users never see a deep torch traceback or a
silent NaN.

Example:
    >>> as_samples([1.0, 2.0, 3.0], "x").shape
    (3, 1)
    >>> as_samples([[1.0, float("nan")]], "x")
    Traceback (most recent call last):
    ...
    infomm.interface.InputError: x has 1 non-finite value(s) (NaN or inf), first at row 0; drop or impute those rows before estimating.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infomm.interface import InputError


def as_samples(x: Any, name: str = "x", *, min_n: int = 2) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape (n, d).

    Accepts numpy arrays, torch tensors, nested lists; a 1-D input of length n becomes
    (n, 1). Rejects non-numeric data, arrays with more than 2 dimensions, empty arrays,
    NaN/inf, and fewer than ``min_n`` rows.
    """
    if x is None:
        raise InputError(f"{name} is None; pass an array of shape (n_samples, n_features).")
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
        raise InputError(
            f"{name} has dtype {arr.dtype}, not numbers; convert it to a numeric array "
            "(for CSV files: numeric columns only, one header row)."
        )
    if np.iscomplexobj(arr):
        raise InputError(
            f"{name} is complex; pass real-valued features (e.g. magnitude and phase as columns)."
        )
    if arr.ndim == 0:
        raise InputError(f"{name} is a scalar; pass an array of shape (n_samples, n_features).")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim > 2:
        raise InputError(
            f"{name} has shape {arr.shape} ({arr.ndim}-D); pass a 2-D array (n_samples, n_features), "
            f"e.g. x.reshape(len(x), -1)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"{name} is empty (shape {arr.shape}); pass at least {min_n} samples with at least one feature."
        )
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.nonzero(bad.any(axis=1))[0]
        raise InputError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), first at row {int(rows[0])}; "
            "drop or impute those rows before estimating."
        )
    if arr.shape[0] < min_n:
        raise InputError(
            f"{name} has {arr.shape[0]} samples but at least {min_n} are needed; pass more samples."
        )
    return arr


def as_paired(
    x: Any, y: Any, names: tuple[str, str] = ("x", "y"), *, min_n: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two arrays of paired samples (same number of rows)."""
    a = as_samples(x, names[0], min_n=1)
    b = as_samples(y, names[1], min_n=1)
    if a.shape[0] != b.shape[0]:
        raise InputError(
            f"{names[0]} has {a.shape[0]} rows but {names[1]} has {b.shape[0]}; "
            "paired samples need the same number of rows (row i of each is one sample)."
        )
    require_samples(a.shape[0], min_n, what=f"{names[0]} and {names[1]}")
    return a, b


def require_samples(n: int, needed: int, *, what: str = "the input", method: str | None = None) -> None:
    """Raise if ``n`` < ``needed`` samples."""
    if n < needed:
        by = f" by method {method!r}" if method else ""
        raise InputError(
            f"{what} has {n} samples but at least {needed} are needed{by}; pass more samples"
            + (" or choose a method with smaller needs (see `infomm mi --list`)." if method else ".")
        )


def check_positive(value: float, name: str) -> None:
    if not (value > 0):
        raise InputError(f"{name}={value!r} must be > 0.")


def check_int_range(value: int, name: str, low: int, high: int | None = None) -> None:
    if not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name}={value!r} must be an integer {rng}.")
