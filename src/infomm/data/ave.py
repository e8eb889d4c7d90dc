"""Pre-extracted AVE and VGGSound-AVEL features as :class:`~infomm.data.sequences.PairedSequences`.

AVE, the Audio-Visual Event dataset (Tian, Shi, Li, Duan & Xu 2018, "Audio-Visual Event
Localization in Unconstrained Videos", ECCV), has 4,143 ten-second clips of 28 event classes,
each second labelled with its event or background. Its official code (GitHub
``YapengTian/AVE-ECCV18``: ``dataloader.py``, ``supervised_main.py``) ships one feature per
second in HDF5 files, each holding one dataset; CMG (Xia, Huang, Zhu & Zhao 2023, "Achieving Cross
Modal Generalization with Multimodal Unified Representation", NeurIPS; GitHub
``haihuangcode/CMG``, ``code/src/dataset/AVE_dataset.py`` under ``ACL25-FCID&TOC/src``) reads
the same files::

    root/audio_feature.h5    "avadataset": (N, 10, 128)         VGGish, one vector per second
    root/visual_feature.h5   "avadataset": (N, 10, 7, 7, 512)   VGG-19 pool5, channels last
                             (visual_feature_vec.h5: (N, 10, 512), the 7x7 grid average-pooled)
    root/labels.h5           "avadataset": (N, 10, 29)          one-hot: 28 classes + background last
    root/{train,val,test}_order.h5   "order": (n,)              clip indices into the files above
    root/Annotations.txt     optional: "Category&VideoID&Quality&StartTime&EndTime", one row per clip

VGGSound-AVEL (Zhou, Guo & Wang 2022, "Contrastive Positive Sample Propagation along the
Audio-Visual Event Line", TPAMI; GitHub ``jasongief/CPSP``) takes 141 classes of VGGSound; CMG
pre-trains on its 40k subset (``code/src/dataset/VGGSOUND_dataset.py``, paths in
``code/src/pretrain.py``), stored as one zip per clip and feature, each holding one pickle::

    root/vggsound-avel40k.csv            columns video_id, category, split (train / val / test)
    root/VggsoundAVEL40kCategories.txt   one class name a line, in class-index order
    root/audio/zip/<video_id>.zip        (T, 128), padded with its last row or cut to 10 rows
    root/video/zip/<video_id>.zip        (10, 7, 7, 512)
    root/label/zip/<video_id>.zip        10 values: 1 = event second (class = the row's category)

:func:`load_ave_features` reads either layout (``files=AVEFiles(...)`` or
``VGGSoundAVELFiles(...)``; ``None`` finds the one present) into modalities ``audio`` (n, 10, 128)
and ``visual`` (n, 10, 512) (the grid's mean, as CMG's ``AdaptiveAvgPool2d(1)`` in
``code/src/model/main_model_2.py``) or (n, 10, 7 * 7 * 512) with ``pool_visual=False``. The clip
label is the event class, the argmax over classes of the labels summed over seconds (CMG's
``ave.py`` takes the largest per-second argmax; the same for AVE's one class per clip); step
labels are the class at event seconds and -1 at background seconds. Pickles can run code when
loaded: only load files you trust.

Example:
    >>> import tempfile, h5py
    >>> root = Path(tempfile.mkdtemp())
    >>> lab = np.zeros((2, 10, 29)); lab[:, :, 28] = 1; lab[0, 2:5] = np.eye(29)[3]; lab[1, :] = np.eye(29)[7]
    >>> data = {"audio_feature.h5": np.ones((2, 10, 128)), "visual_feature.h5": np.ones((2, 10, 7, 7, 512)),
    ...         "labels.h5": lab}
    >>> for name, arr in data.items():
    ...     with h5py.File(root / name, "w") as f:
    ...         _ = f.create_dataset("avadataset", data=arr)
    >>> with h5py.File(root / "train_order.h5", "w") as f:
    ...     _ = f.create_dataset("order", data=np.array([1, 0]))
    >>> seqs = load_ave_features(root, "train")
    >>> seqs.dims, seqs.labels.tolist(), seqs.row_meta["index"].tolist()
    ({'audio': 128, 'visual': 512}, [7, 3], [1, 0])
    >>> seqs.step_labels[:, :6].tolist()
    [[7, 7, 7, 7, 7, 7], [-1, -1, 3, 3, 3, -1]]
"""

from __future__ import annotations

import csv
import pickle
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infomm.data.sequences import PairedSequences
from infomm.interface import InputError

STEPS = 10  # one feature per second of a 10 s clip
AUDIO_DIM = 128  # VGGish
VISUAL_DIM = 512  # VGG-19 pool5 channels
SPLITS = ("train", "val", "test")
Split = Literal["train", "val", "test", "all"]


@dataclass
class _Clips:
    """What a layout reader hands back: features and labels of the selected clips, in order."""

    audio: np.ndarray
    visual: np.ndarray
    labels: np.ndarray  # (n, 10, n_classes + 1) one-hot per second, background last
    row_meta: dict[str, np.ndarray]
    sources: dict[str, str]
    classes: list[str] | None
    extra: dict[str, Any]


def _path(root: Path, name: str) -> Path:
    p = Path(name).expanduser()
    return p if p.is_absolute() else root / p


def _missing(root: Path, names: dict[str, str], layout: str, fix: str) -> None:
    absent = [n for n in names.values() if not _path(root, n).exists()]
    if absent:
        raise InputError(
            f"root={str(root)!r} lacks {', '.join(absent)}; the {layout} needs "
            f"{', '.join(names.values())}; {fix}"
        )


def _pool(visual: np.ndarray, pool: bool) -> np.ndarray:
    """(n, T, H, W, C) -> (n, T, C) grid mean, or (n, T, H * W * C) in (h, w, c) order."""
    if visual.ndim == 3:
        return visual.astype(np.float32)
    if pool:
        return visual.mean(axis=(2, 3), dtype=np.float64).astype(np.float32)
    return visual.reshape(*visual.shape[:2], -1).astype(np.float32)


def _check_visual(shape: tuple[int, ...], source: str, lead: tuple[int, ...]) -> None:
    ok = shape[: len(lead)] == lead and shape[-1] == VISUAL_DIM and len(shape) - len(lead) in (1, 3)
    if not ok:
        want = ", ".join(map(str, lead))
        raise InputError(
            f"{source} has shape {shape}; expected ({want}, 7, 7, {VISUAL_DIM}) (VGG-19 pool5, channels "
            f"last) or ({want}, {VISUAL_DIM}) (already pooled)."
        )


def _finite(arr: np.ndarray, source: str, first_row: int = 0, rows: np.ndarray | None = None) -> None:
    bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        clip = int(rows[i]) if rows is not None else first_row + i
        raise InputError(f"{source} has NaN or inf values (clip {clip} first); fix or re-extract the file.")


@dataclass(frozen=True)
class AVEFiles:
    """The HDF5 layout of ``YapengTian/AVE-ECCV18`` (``data/``), names relative to ``root`` or absolute.

    ``visual="visual_feature_vec.h5"`` takes the released pre-pooled (N, 10, 512) features, and
    ``labels="right_labels.h5"`` the corrected labels that PSP / CPSP read. ``annotations`` (rows in
    the order of the HDF5 files, as CPSP's ``AVEDataset_ResNet`` indexes them) adds
    ``row_meta["clip"]`` and the class names when present; ``None`` skips it.
    """

    audio: str = "audio_feature.h5"
    visual: str = "visual_feature.h5"
    labels: str = "labels.h5"
    order: str = "{split}_order.h5"
    annotations: str | None = "Annotations.txt"
    key: str = "avadataset"
    order_key: str = "order"
    chunk: int = 256  # clips per HDF5 read: the 7x7 grid of all of AVE is several GB

    def read(self, root: Path, split: Split, pool_visual: bool) -> _Clips:
        import h5py

        names = {"audio": self.audio, "visual": self.visual, "labels": self.labels}
        orders = {s: self.order.format(split=s) for s in SPLITS}
        needed = dict(names, **({} if split == "all" else {"order": orders[split]}))
        _missing(root, needed, "AVE HDF5 layout", "or pass files=AVEFiles(...) with your file names.")
        sources = {k: str(_path(root, v)) for k, v in names.items()}
        with (
            self._open(h5py, root, self.audio) as fa,
            self._open(h5py, root, self.visual) as fv,
            self._open(h5py, root, self.labels) as fl,
        ):
            da, dv, dl = (
                self._dataset(f, n) for f, n in ((fa, self.audio), (fv, self.visual), (fl, self.labels))
            )
            n_clips = da.shape[0] if da.ndim else 0
            if n_clips == 0 or da.shape != (n_clips, STEPS, AUDIO_DIM):
                raise InputError(
                    f"{self.audio} has shape {da.shape}; expected (N, {STEPS}, {AUDIO_DIM}) (VGGish, one per second)."
                )
            if dv.shape[0] != n_clips or dl.shape[0] != n_clips:
                raise InputError(
                    f"the files disagree on the clip count: {self.audio} {n_clips}, {self.visual} {dv.shape[0]}, "
                    f"{self.labels} {dl.shape[0]}; use files from one release."
                )
            _check_visual(dv.shape, self.visual, (n_clips, STEPS))
            if dl.ndim != 3 or dl.shape[1] != STEPS or dl.shape[2] < 2:
                raise InputError(
                    f"{self.labels} has shape {dl.shape}; expected (N, {STEPS}, n_classes + 1), e.g. "
                    f"({n_clips}, {STEPS}, 29): one-hot per second, background last."
                )
            split_of = np.full(n_clips, "", dtype=object)
            picked: np.ndarray | None = None
            for s in SPLITS:
                if split not in ("all", s) or not _path(root, orders[s]).exists():
                    continue
                rows = self._order(h5py, root, orders[s], n_clips)
                sources[f"{s}_order"] = str(_path(root, orders[s]))
                split_of[rows[split_of[rows] == ""]] = s
                if split == s:
                    picked = rows
            rows = np.arange(n_clips) if picked is None else picked
            all_labels = np.asarray(dl[()], dtype=np.float64)
            _finite(all_labels, self.labels)
            audio = self._rows(da, rows, self.audio, lambda a: a.astype(np.float32))
            visual = self._rows(dv, rows, self.visual, lambda v: _pool(v, pool_visual))
            grid = tuple(int(g) for g in dv.shape[2:4]) if dv.ndim == 5 else None
        row_meta: dict[str, np.ndarray] = {
            "index": rows.astype(np.int64),
            "split": split_of[rows].astype(str),
        }
        classes = None
        if self.annotations is not None and _path(root, self.annotations).is_file():
            category, clip = self._annotations(root, n_clips)
            sources["annotations"] = str(_path(root, self.annotations))
            row_meta["clip"], row_meta["category"] = clip[rows], category[rows]
            classes = _names_from_annotations(all_labels, category)
        return _Clips(audio, visual, all_labels[rows], row_meta, sources, classes, {"visual_grid": grid})

    def _open(self, h5py: Any, root: Path, name: str) -> Any:
        try:
            return h5py.File(_path(root, name), "r")
        except OSError as err:
            raise InputError(
                f"{name} is not a readable HDF5 file ({err}); is the download complete?"
            ) from None

    def _dataset(self, f: Any, name: str) -> Any:
        if self.key not in f:
            raise InputError(
                f"{name} has no dataset {self.key!r}; it holds {sorted(f.keys())}; pass files=AVEFiles(key=...)."
            )
        return f[self.key]

    def _order(self, h5py: Any, root: Path, name: str, n_clips: int) -> np.ndarray:
        with self._open(h5py, root, name) as f:
            if self.order_key not in f:
                raise InputError(
                    f"{name} has no dataset {self.order_key!r}; it holds {sorted(f.keys())}; "
                    "pass files=AVEFiles(order_key=...)."
                )
            raw = np.asarray(f[self.order_key][()])
        flat = raw.reshape(-1)
        if raw.ndim > 2 or flat.size == 0 or not np.issubdtype(raw.dtype, np.number):
            raise InputError(
                f"{name} holds {raw.dtype} of shape {raw.shape}; an order file lists clip indices (n,)."
            )
        if not (np.isfinite(flat).all() and np.array_equal(flat, np.round(flat))):
            raise InputError(f"{name} holds non-integer indices; an order file lists clip indices.")
        rows = flat.astype(np.int64)
        if rows.min() < 0 or rows.max() >= n_clips:
            bad = int(rows.max()) if rows.max() >= n_clips else int(rows.min())
            raise InputError(
                f"{name} points to clip {bad}, outside the {n_clips} clips of {self.audio} (0..{n_clips - 1}); "
                "the order files and the features come from different releases."
            )
        return rows

    def _rows(
        self, ds: Any, rows: np.ndarray, name: str, transform: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``transform(ds[rows])`` read ``chunk`` clips at a time (h5py wants increasing unique indices)."""
        uniq, inverse = np.unique(rows, return_inverse=True)
        parts = []
        for start in range(0, uniq.size, self.chunk):
            sel = uniq[start : start + self.chunk]
            block = np.asarray(ds[sel])
            _finite(block, name, rows=sel)
            parts.append(transform(block))
        return np.concatenate(parts)[inverse.reshape(-1)]

    def _annotations(self, root: Path, n_clips: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.annotations is not None
        text = _path(root, self.annotations).read_text(encoding="utf-8", errors="replace")
        rows = [line.split("&") for line in text.splitlines() if line.strip()]
        if rows and len(rows[0]) > 1 and rows[0][1].strip() == "VideoID":
            rows = rows[1:]
        if len(rows) != n_clips or any(len(r) < 2 for r in rows):
            raise InputError(
                f"{self.annotations} has {len(rows)} rows of 'Category&VideoID&...' but the features have "
                f"{n_clips} clips; pass files=AVEFiles(annotations=None) to skip it."
            )
        return np.array([r[0].strip() for r in rows]), np.array([r[1].strip() for r in rows])


def _names_from_annotations(labels: np.ndarray, category: np.ndarray) -> list[str] | None:
    """Class names when every class index is annotated with one category name (else None)."""
    clip_class, _, has_event = _decode(labels)
    names: list[str] = []
    for c in range(labels.shape[2] - 1):
        found = set(category[has_event & (clip_class == c)].tolist())
        if len(found) != 1:
            return None
        names.append(found.pop())
    return names if len(set(names)) == len(names) else None


@dataclass(frozen=True)
class VGGSoundAVELFiles:
    """The per-clip zip layout of VGGSound-AVEL as CMG reads it (``code/src/dataset/VGGSOUND_dataset.py``).

    ``meta`` and ``categories`` default to the one ``vggsound-avel*.csv`` and the one
    ``VggsoundAVEL*Categories.txt`` in ``root`` (40k, 50k or 100k); the folders are CMG's
    ``pretrain.py`` defaults. Names are relative to ``root`` or absolute.
    """

    meta: str | None = None
    categories: str | None = None
    audio: str = "audio/zip"
    video: str = "video/zip"
    labels: str = "label/zip"

    def read(self, root: Path, split: Split, pool_visual: bool) -> _Clips:
        meta = self._find(root, self.meta, "vggsound-avel*.csv", "meta")
        cats = self._find(root, self.categories, "VggsoundAVEL*Categories.txt", "categories")
        folders = {"audio": self.audio, "video": self.video, "labels": self.labels}
        _missing(
            root,
            folders,
            "VGGSound-AVEL zip layout",
            "or pass files=VGGSoundAVELFiles(...) with your folders.",
        )
        classes = [line.strip() for line in cats.read_text(encoding="utf-8").splitlines() if line.strip()]
        with meta.open(newline="", encoding="utf-8") as fh:
            table = list(csv.DictReader(fh))
        absent = {"video_id", "category", "split"} - set(table[0] if table else {})
        if absent:
            raise InputError(
                f"{meta.name} has no column {sorted(absent)}; it needs video_id, category and split."
            )
        chosen = [i for i, r in enumerate(table) if split == "all" or r["split"].strip() == split]
        if not chosen:
            found = sorted({r["split"] for r in table})
            raise InputError(f"split={split!r}: {meta.name} has no such rows; its splits are {found}.")
        index = {name: k for k, name in enumerate(classes)}
        audio, visual, labels, padded, cropped = [], [], [], 0, 0
        for i in chosen:
            vid, cat = table[i]["video_id"].strip(), table[i]["category"].strip()
            if cat not in index:
                raise InputError(
                    f"{meta.name} row {i + 2}: category {cat!r} is not in {cats.name}; use the matching list."
                )
            a = self._load(root, self.audio, vid)
            if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] != AUDIO_DIM:
                raise InputError(
                    f"{self.audio}/{vid}.zip holds shape {a.shape}; expected (T, {AUDIO_DIM}) (VGGish)."
                )
            padded, cropped = padded + (a.shape[0] < STEPS), cropped + (a.shape[0] > STEPS)
            a = np.concatenate([a, np.repeat(a[-1:], max(STEPS - a.shape[0], 0), axis=0)])[:STEPS]
            v = self._load(root, self.video, vid)
            _check_visual(v.shape, f"{self.video}/{vid}.zip", (STEPS,))
            avc = self._load(root, self.labels, vid).reshape(-1)
            if avc.size != STEPS or not np.isin(avc, (0, 1)).all():
                raise InputError(
                    f"{self.labels}/{vid}.zip holds {avc.size} values {np.unique(avc)[:5].tolist()}; expected "
                    f"{STEPS} event flags of 0 or 1."
                )
            one_hot = np.zeros((STEPS, len(classes) + 1))
            one_hot[:, index[cat]], one_hot[:, -1] = avc, 1 - avc  # CMG's _obtain_avel_label
            for arr, source in ((a, self.audio), (v, self.video)):
                _finite(arr[None], f"{source}/{vid}.zip")
            audio.append(a.astype(np.float32))
            visual.append(_pool(v[None], pool_visual)[0])
            labels.append(one_hot)
        rows = np.asarray(chosen, dtype=np.int64)
        row_meta = {
            "index": rows,
            "split": np.array([table[i]["split"].strip() for i in chosen]),
            "clip": np.array([table[i]["video_id"].strip() for i in chosen]),
        }
        sources = {
            "meta": str(meta),
            "categories": str(cats),
            **{k: str(_path(root, v)) for k, v in folders.items()},
        }
        extra = {"audio_padded": int(padded), "audio_cropped": int(cropped)}
        return _Clips(np.stack(audio), np.stack(visual), np.stack(labels), row_meta, sources, classes, extra)

    @staticmethod
    def _find(root: Path, name: str | None, pattern: str, arg: str) -> Path:
        if name is not None:
            p = _path(root, name)
            if not p.is_file():
                raise InputError(f"{arg}={name!r} is not a file under root={str(root)!r}; check the name.")
            return p
        hits = sorted(root.glob(pattern))
        if len(hits) != 1:
            raise InputError(
                f"root={str(root)!r} has {len(hits)} files {pattern} ({[h.name for h in hits]}); "
                f"pass files=VGGSoundAVELFiles({arg}=...) naming the one to use."
            )
        return hits[0]

    @staticmethod
    def _load(root: Path, folder: str, vid: str) -> np.ndarray:
        base = _path(root, folder)
        path = base / f"{vid}.zip"
        if not path.is_file() and vid.isdigit():  # pandas (as CMG uses) reads "000123" as 123
            path = base / f"{int(vid)}.zip" if (base / f"{int(vid)}.zip").is_file() else path
        if not path.is_file():
            raise InputError(
                f"{folder}/{vid}.zip is missing; every row of the meta file needs its three zips."
            )
        try:
            with zipfile.ZipFile(path) as zf:
                members = [n for n in zf.namelist() if n.endswith(".pkl") and not n.startswith("__MACOSX/")]
                if len(members) != 1:
                    raise InputError(f"{folder}/{path.name} holds {len(members)} .pkl files; expected one.")
                raw = zf.read(members[0])
            try:
                obj = pickle.loads(raw)  # noqa: S301 (the documented format; trusted files only)
            except UnicodeDecodeError:
                obj = pickle.loads(raw, encoding="latin1")  # noqa: S301
        except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
            raise InputError(f"{folder}/{path.name} is not a zip of one readable pickle ({err}).") from None
        arr = np.asarray(obj)
        if not np.issubdtype(arr.dtype, np.number):
            raise InputError(f"{folder}/{path.name} holds {arr.dtype}, not numbers.")
        return arr


def _decode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-hot (n, T, K) with background last -> (clip class, step labels with -1, has-event mask)."""
    per_step = labels.argmax(axis=2)
    steps = np.where(per_step == labels.shape[2] - 1, -1, per_step).astype(np.int64)
    clip = labels[:, :, :-1].sum(axis=1).argmax(axis=1).astype(np.int64)
    return clip, steps, np.asarray((steps >= 0).any(axis=1))


def _detect(root: Path) -> AVEFiles | VGGSoundAVELFiles:
    if (root / AVEFiles.audio).is_file():
        return AVEFiles()
    if any(root.glob("vggsound-avel*.csv")):
        return VGGSoundAVELFiles()
    raise InputError(
        f"root={str(root)!r} holds neither layout: AVE needs {AVEFiles.audio}, {AVEFiles.visual}, "
        f"{AVEFiles.labels} and {{train,val,test}}_order.h5; VGGSound-AVEL needs vggsound-avel*.csv, "
        "VggsoundAVEL*Categories.txt and audio/zip, video/zip, label/zip; or pass files=AVEFiles(...) / "
        "VGGSoundAVELFiles(...) naming yours."
    )


def load_ave_features(
    root: str | Path,
    split: Split = "train",
    *,
    pool_visual: bool = True,
    files: AVEFiles | VGGSoundAVELFiles | None = None,
    classes: Sequence[str] | None = None,
    drop_no_event: bool = False,
) -> PairedSequences:
    """Load AVE / VGGSound-AVEL per-second features of one split as time-paired sequences.

    Args:
        root: the folder with the files (see the module docstring for both layouts).
        split: ``"train"``, ``"val"``, ``"test"`` (the order file / the csv's ``split`` column) or
            ``"all"`` (every clip, in file order).
        pool_visual: average the 7x7 grid to (n, 10, 512); ``False`` flattens it to (n, 10, 25088).
        files: the layout and its file names; ``None`` finds the layout present in ``root``.
        classes: class names in index order (checked against the label columns); by default the
            category list (VGGSound-AVEL) or the names in ``Annotations.txt`` (AVE), else None.
        drop_no_event: drop clips whose seconds are all background (counted in
            ``meta["dropped_no_event"]``) instead of raising.

    Returns:
        :class:`PairedSequences` named ``"ave"`` or ``"vggsound-avel"``: ``audio`` and ``visual``
        float32 (n, 10, d); ``labels`` the event class; ``step_labels`` the class or -1;
        ``row_meta``: ``index`` (the clip's position in the original files), ``split``, and
        ``clip`` (video id) where known; ``meta``: ``n_classes``, ``classes``, ``sources`` and settings.

    Raises:
        InputError: missing files (listing the expected ones), unreadable files, mismatched clip
            counts, wrong shapes, NaN / inf, order indices past the end, clips with no event.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise InputError(f"root={str(root)!r} is not a folder; pass the folder holding the feature files.")
    if split not in (*SPLITS, "all"):
        raise InputError(f"split={split!r} is not known; use 'train', 'val', 'test' or 'all'.")
    layout = _detect(base) if files is None else files
    if not isinstance(layout, AVEFiles | VGGSoundAVELFiles):
        raise InputError(f"files={files!r} is not an AVEFiles or VGGSoundAVELFiles.")
    clips = layout.read(base, split, pool_visual)
    n_classes = clips.labels.shape[2] - 1
    names = list(classes) if classes is not None else clips.classes
    if names is not None and len(names) != n_classes:
        raise InputError(
            f"classes has {len(names)} names but the labels have {n_classes} event classes (+ background)."
        )
    if (clips.labels < 0).any() or (clips.labels.max(axis=2) <= 0).any():
        raise InputError(
            f"{clips.sources.get('labels', 'labels')}: some seconds have negative or no label (all zeros); "
            "each second needs a one-hot row (background last)."
        )
    labels, steps, has_event = _decode(clips.labels)
    if not has_event.all() and not drop_no_event:
        bad = clips.row_meta["index"][~has_event]
        raise InputError(
            f"{int(bad.size)} clips have no event second (all background), e.g. clip {bad[:5].tolist()} of "
            f"{clips.sources.get('labels', 'the label zips')}; pass drop_no_event=True to leave them out."
        )
    if not has_event.any():
        raise InputError(f"split={split!r}: no clip with an event is left; check the labels.")
    keep = np.nonzero(has_event)[0]
    meta = {
        "layout": type(layout).__name__,
        "root": str(base),
        "split": split,
        "sources": clips.sources,
        "n_classes": n_classes,
        "classes": names,
        "pool_visual": pool_visual,
        "dropped_no_event": int((~has_event).sum()),
        **clips.extra,
    }
    return PairedSequences(
        {"audio": clips.audio[keep], "visual": clips.visual[keep]},
        labels[keep],
        steps[keep],
        "ave" if isinstance(layout, AVEFiles) else "vggsound-avel",
        meta,
        {k: v[keep] for k, v in clips.row_meta.items()},
    )
