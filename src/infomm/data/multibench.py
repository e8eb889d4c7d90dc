"""MultiBench affect pickles (CMU-MOSI, CMU-MOSEI, UR-FUNNY, MUStARD) as a PairedDataset.

MultiBench (Liang, Lyu, Fan, Wu, Cheng, Wu, Chen, Wu, Lee, Zhu, Salakhutdinov, Morency & Mitchell
2021, "MultiBench: Multiscale Benchmarks for Multimodal Representation Learning", NeurIPS
Datasets and Benchmarks) distributes each affect data set as one pickle (``mosi_raw.pkl``,
``mosei_senti_data.pkl``, ``humor.pkl``, ``sarcasm.pkl``) read by its
``datasets/affect/get_data.py``::

    {"train" | "valid" | "test": {"vision": (n, T, dv), "audio": (n, T, da), "text": (n, T, dt),
                                  "labels": (n, 1, 1), "id": (n, ...)}}

Word-aligned sequences are zero-padded at the front (T = 50 in the distributed files), and the
label is a sentiment score in [-3, 3] for MOSI (Zadeh, Zellers, Pincus & Morency 2016, IEEE
Intelligent Systems 31(6)) and MOSEI (Zadeh, Liang, Poria, Cambria & Morency 2018, ACL), 0/1 for
UR-FUNNY (Hasan et al. 2019, EMNLP) and MUStARD (Castro et al. 2019, ACL). What
:func:`load_multibench` does, step by step, after ``get_data.py``:

1. drops samples whose text is all zeros (``drop_entry``; ``drop_empty_text=True``);
2. replaces NaN and +-inf features by 0 (MultiBench sets the audio's -inf to 0 in
   ``Affectdataset.__init__`` and ``nan_to_num``-s its z-normalisation), counting them per modality;
3. turns the score into integer classes (:func:`sentiment_classes`);
4. averages each sequence over time (``pooling="mean"``) from the first time step with non-zero
   text on, the start ``Affectdataset.__getitem__`` cuts at (``aligned=True``), so the padding
   does not dilute the mean; ``pooling="none"`` keeps the padded (n, T, d) arrays.

Pickles can run code when loaded: only load files you trust (e.g. the ones MultiBench links).

Example:
    >>> import pickle, tempfile
    >>> rng = np.random.default_rng(0)
    >>> part = lambda n: {"vision": rng.normal(size=(n, 4, 2)), "audio": rng.normal(size=(n, 4, 3)),
    ...                   "text": rng.normal(size=(n, 4, 5)), "labels": np.linspace(-3, 3, n).reshape(n, 1, 1)}
    >>> path = Path(tempfile.mkdtemp()) / "toy.pkl"
    >>> path.write_bytes(pickle.dumps({"train": part(7), "valid": part(3), "test": part(3)})) > 0
    True
    >>> ds = load_multibench(path)
    >>> len(ds), ds.modalities["audio"].shape, ds.labels.tolist(), ds.meta["classes"]
    (7, (7, 3), [0, 0, 0, 0, 1, 1, 1], ['negative', 'positive'])
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infomm.data.base import PairedDataset
from infomm.interface import InputError

SPLITS = ("train", "valid", "test")
Task = Literal["binary", "binary-nonzero", "7class", "regression"]


def sentiment_classes(scores: np.ndarray, task: Task) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Integer classes from continuous scores: ``(codes of the kept rows, kept mask, class names)``.

    * ``"binary"``: ``score > 0`` is 1, everything else (0 included) is 0: MultiBench's
      ``get_class`` in ``datasets/affect/get_data.py`` (``task="classification"``, MOSI/MOSEI/sarcasm).
    * ``"binary-nonzero"``: rows with score exactly 0 are dropped, then ``score > 0``: the
      "Acc-2" of ``eval_affect(..., exclude_zero=True)`` in MultiBench's ``eval_scripts/performance.py``.
    * ``"7class"``: ``round(clip(score, -3, 3)) + 3`` in 0..6 (numpy rounds halves to even): the
      "Acc-7" of Tsai et al. 2019, "Multimodal Transformer for Unaligned Multimodal Language
      Sequences", ACL (``src/eval_metrics.py``, ``eval_mosei_senti``).

    ``"regression"`` is refused: labels are integer classes; every task keeps the scores in
    ``row_meta["score"]``.

    >>> s = np.array([-2.6, -0.4, 0.0, 0.2, 2.5, 3.4])
    >>> sentiment_classes(s, "binary")[0].tolist(), sentiment_classes(s, "binary-nonzero")[1].tolist()
    ([0, 0, 0, 1, 1, 1], [True, True, False, True, True, True])
    >>> sentiment_classes(s, "7class")[0].tolist()
    [0, 3, 3, 3, 5, 6]
    """
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.ones(scores.shape, dtype=bool)
    if task == "binary":
        return (scores > 0).astype(np.int64), keep, ["negative", "positive"]
    if task == "binary-nonzero":
        keep = scores != 0
        return (scores[keep] > 0).astype(np.int64), keep, ["negative", "positive"]
    if task == "7class":
        codes = np.round(np.clip(scores, -3.0, 3.0)).astype(np.int64) + 3
        return codes, keep, [str(v) for v in range(-3, 4)]
    if task == "regression":
        raise InputError(
            "task='regression': a PairedDataset holds integer class labels; load with task='7class' or "
            "'binary' and take the continuous scores from ds.row_meta['score']."
        )
    raise InputError(f"task={task!r} is not known; use 'binary', 'binary-nonzero' or '7class'.")


def read_multibench_pickle(path: str | Path) -> dict[str, Any]:
    """Unpickle a MultiBench file (retrying with ``encoding="latin1"`` for Python 2 pickles)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"path={str(path)!r} is not a file; pass a MultiBench pickle such as mosi_raw.pkl.")
    try:
        with p.open("rb") as fh:
            try:
                data = pickle.load(fh)
            except UnicodeDecodeError:
                fh.seek(0)
                data = pickle.load(fh, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError) as err:
        raise InputError(
            f"path={str(path)!r} is not a readable pickle ({err}); is the file complete?"
        ) from None
    if not isinstance(data, Mapping):
        raise InputError(f"path={str(path)!r} holds a {type(data).__name__}, not a dict of splits {SPLITS}.")
    return dict(data)


def text_start(text: np.ndarray) -> np.ndarray:
    """Per sample, the first time step whose text features are not all zero (0 if none).

    >>> t = np.zeros((2, 4, 3)); t[0, 2:] = 1.0; t[1, :] = 1.0
    >>> text_start(t).tolist()
    [2, 0]
    """
    arr = np.asarray(text)
    nonzero = np.any(arr.reshape(*arr.shape[:2], int(np.prod(arr.shape[2:]))) != 0, axis=2)
    return np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 0)


def _split(part: Any, name: str, modalities: list[str], drop_empty_text: bool) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise InputError(
            f"split {name!r} holds a {type(part).__name__}; MultiBench splits are dicts of arrays."
        )
    missing = [k for k in [*modalities, "labels"] if k not in part]
    if missing:
        raise InputError(
            f"split {name!r} has no {missing}; it holds {sorted(part)}; choose modalities among them."
        )
    labels = np.asarray(part["labels"], dtype=np.float64)
    n = labels.shape[0] if labels.ndim else 0
    if n == 0:
        raise InputError(f"split {name!r}: labels has shape {labels.shape}; it needs one row per sample.")
    scores = labels.reshape(n, -1)[:, 0]  # MultiBench's collate keeps the first label of each sample
    if not np.isfinite(scores).all():
        raise InputError(f"split {name!r}: labels hold NaN or inf; fix the file (scores must be finite).")
    arrays: dict[str, np.ndarray] = {}
    for m in [*modalities, *(["text"] if "text" in part and "text" not in modalities else [])]:
        arr = np.asarray(part[m])
        if arr.ndim < 2 or arr.shape[0] != n or not np.issubdtype(arr.dtype, np.number):
            raise InputError(
                f"split {name!r}: {m!r} has shape {arr.shape} and dtype {arr.dtype}; it needs numbers of shape "
                f"(n, T, d) or (n, d) with n = {n} (the rows of labels)."
            )
        arrays[m] = arr
    keep: np.ndarray = np.ones(n, dtype=bool)
    if drop_empty_text and "text" in arrays:
        keep = np.any(arrays["text"].reshape(n, -1) != 0, axis=1)
    ids = np.asarray(part["id"]) if "id" in part else None
    if ids is not None and ids.ndim >= 1 and ids.shape[0] == n:
        ids = (
            ids.astype(str)
            if ids.ndim == 1
            else np.array(["_".join(map(str, r)) for r in ids.reshape(n, -1)])
        )
    else:
        ids = np.array([f"{name}-{i}" for i in range(n)])
    return {"arrays": arrays, "scores": scores, "keep": keep, "ids": ids}


def load_multibench(
    path: str | Path | Mapping[str, Any],
    *,
    split: Literal["train", "valid", "test", "all"] = "train",
    modalities: Sequence[str] = ("vision", "audio", "text"),
    task: Task = "binary",
    pooling: Literal["mean", "none"] = "mean",
    drop_empty_text: bool = True,
) -> PairedDataset:
    """Load one split (or ``"all"``, concatenated train, valid, test) of a MultiBench pickle.

    Args:
        path: the pickle, or the dict it holds.
        split: ``"train"``, ``"valid"``, ``"test"`` or ``"all"`` (``row_meta["split"]`` tells them apart).
        modalities: keys of the split to keep, in order (each (n, T, d) or already pooled (n, d)).
        task: how scores become classes, see :func:`sentiment_classes`.
        pooling: ``"mean"`` over the non-padded time steps (gives (n, d)) or ``"none"`` (n, T, d).
        drop_empty_text: drop samples with all-zero text, as MultiBench does.

    Returns:
        a :class:`~infomm.data.PairedDataset`; ``row_meta``: ``score`` (the continuous label),
        ``id``, ``split``; ``meta``: ``classes``, ``nonfinite_replaced`` (count per modality),
        ``dropped_empty_text``, ``dropped_zero_score`` and the settings.

    Raises:
        InputError: a missing or unreadable file, an unknown split, modality, task or pooling,
            arrays whose rows disagree with the labels, or no sample left.
    """
    data = dict(path) if isinstance(path, Mapping) else read_multibench_pickle(path)
    if split not in (*SPLITS, "all"):
        raise InputError(f"split={split!r} is not known; use 'train', 'valid', 'test' or 'all'.")
    names = list(SPLITS) if split == "all" else [split]
    absent = [s for s in names if s not in data]
    if absent:
        raise InputError(
            f"the pickle has no split {absent}; it holds {sorted(map(str, data))}; pass split= one of those."
        )
    mods = [modalities] if isinstance(modalities, str) else list(modalities)
    if not mods or len(set(mods)) != len(mods):
        raise InputError(
            f"modalities={modalities!r} must name one or more distinct keys, e.g. ('audio', 'text')."
        )
    if pooling not in ("mean", "none"):
        raise InputError(f"pooling={pooling!r} is not known; use 'mean' or 'none'.")
    sentiment_classes(np.zeros(1), task)  # validates task before any work

    parts = [_split(data[s], s, mods, drop_empty_text) for s in names]
    out: dict[str, list[np.ndarray]] = {m: [] for m in mods}
    nonfinite = dict.fromkeys(mods, 0)
    rows: dict[str, list[np.ndarray]] = {"score": [], "id": [], "split": []}
    dropped_text = dropped_zero = 0
    for s, part in zip(names, parts, strict=True):
        _, keep_task, _ = sentiment_classes(part["scores"], task)
        keep = part["keep"] & keep_task
        dropped_text += int((~part["keep"]).sum())
        dropped_zero += int((part["keep"] & ~keep_task).sum())
        text = part["arrays"].get("text")
        text = text[keep] if text is not None and text.ndim >= 3 else None
        for m in mods:
            raw = part["arrays"][m][keep]
            arr = raw.astype(np.float32)
            bad = ~np.isfinite(arr)
            nonfinite[m] += int(bad.sum())
            arr[bad] = 0.0
            if pooling == "mean" and arr.ndim >= 3:
                # aligned sequences start where the text does; others at their own first non-zero step
                aligned = text is not None and text.shape[1] == arr.shape[1]
                start = text_start(text if aligned and text is not None else raw)
                valid = np.arange(arr.shape[1])[None, :] >= start[:, None]
                w = valid.reshape(*valid.shape, *([1] * (arr.ndim - 2)))
                arr = (arr * w).sum(axis=1) / valid.sum(axis=1).reshape(-1, *([1] * (arr.ndim - 2)))
            out[m].append(arr)
        rows["score"].append(part["scores"][keep])
        rows["id"].append(part["ids"][keep])
        rows["split"].append(np.full(int(keep.sum()), s))
    scores = np.concatenate(rows["score"])
    if scores.size == 0:
        raise InputError(
            f"split={split!r}, task={task!r}: no sample is left (dropped {dropped_text} with empty text, "
            f"{dropped_zero} with score 0); use task='binary' or drop_empty_text=False, or check the labels."
        )
    shapes = {m: {a.shape[1:] for a in out[m]} for m in mods}
    odd = {m: sorted(v) for m, v in shapes.items() if len(v) > 1}
    if odd:
        raise InputError(
            f"split='all': the splits' feature shapes differ {odd}; use pooling='mean' or one split."
        )
    labels, _, classes = sentiment_classes(scores, task)
    meta = {
        "source": "<dict>" if isinstance(path, Mapping) else str(path),
        "split": split,
        "task": task,
        "pooling": pooling,
        "classes": classes,
        "nonfinite_replaced": nonfinite,
        "dropped_empty_text": dropped_text,
        "dropped_zero_score": dropped_zero,
    }
    return PairedDataset(
        {m: np.concatenate(out[m]) for m in mods},
        labels,
        "multibench",
        meta,
        {k: np.concatenate(v) for k, v in rows.items()},
    )
