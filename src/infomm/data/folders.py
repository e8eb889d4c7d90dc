"""Audio-visual clip folders (CREMA-D, Kinetics-Sounds, AVE as prepared for OGM-GE / PMR).

The balanced-training papers (OGM-GE: Peng, Wei, Deng, Wang & Hu, 2022, "Balanced Multimodal
Learning via On-the-fly Gradient Modulation", CVPR; PMR: Fan, Xu, Wang, Hu & Chen, 2023,
"PMR: Prototypical Modal Rebalance for Multimodal Learning", CVPR) train on clips stored as one
audio file and one folder of extracted frames per clip, plus a CSV of (clip, class) rows.
:func:`load_clip_folder` reads that layout into a :class:`~infomm.data.PairedDataset`::

    root/
      <audio_dir>/<clip>.wav             (or .flac / .ogg; any rate, channels averaged)
      <frames_dir>/<clip>/*.jpg          (or .jpeg / .png; sorted by name, digits numerically)
      <labels>                           rows "clip,class" (columns configurable, see LabelFile)

For CREMA-D (Cao, Cooper, Keutmann, Gur, Nenkova & Verma, 2014, "CREMA-D: Crowd-sourced
Emotional Multimodal Actors Dataset", IEEE Trans. Affective Computing 5(4)) the OGM-GE code
(``dataset/CramedDataset.py``) reads ``AudioWAV/<clip>.wav``, ``Image-01-FPS/<clip>/`` and
``data/CREMAD/train.csv`` with rows such as ``1041_TIE_NEU_XX,NEU`` and the class order
:data:`CREMAD_CLASSES`. infomm downloads nothing: point the loader at your own copy.

Example:
    >>> import tempfile, soundfile as sf
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> for clip, cls in (("a", "HAP"), ("b", "SAD")):
    ...     sf.write(root / f"{clip}.wav", np.zeros(4000, np.float32), 16000)
    ...     (root / clip).mkdir()
    ...     Image.new("L", (8, 8), 200).save(root / clip / "frame_00001.png")
    >>> _ = (root / "labels.csv").write_text("a,HAP\\nb,SAD\\n")
    >>> ds = load_clip_folder(root, audio_dir=".", frames_dir=".", classes=CREMAD_CLASSES)
    >>> ds.labels.tolist(), ds.modalities["visual"].shape, round(float(ds.modalities["visual"].max()), 3)
    ([1, 2], (2, 1, 32, 32), 0.784)
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infomm.data.avdigits import LogMelConfig
from infomm.data.base import PairedDataset
from infomm.data.fsdd import read_wav
from infomm.data.speech import log_mel
from infomm.interface import InputError

#: CREMA-D emotion codes in the class order of OGM-GE's ``dataset/CramedDataset.py`` (codes 0-5)
CREMAD_CLASSES = ("NEU", "HAP", "SAD", "FEA", "DIS", "ANG")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: 3 s of log-mel frames at a 10 ms hop: the 3 s audio window of OGM-GE's CREMA-D loader
DEFAULT_FEATURES = LogMelConfig(n_mels=40, n_frames=300)


@dataclass(frozen=True)
class LabelFile:
    """A delimited text file of (clip, class) rows: ``path`` (relative to the root, or absolute),
    the 0-based ``clip_column`` and ``label_column``, whether row 1 is a ``header``, and the
    ``delimiter``. OGM-GE's Kinetics-Sounds lists (``my_train.txt``: ``clip,10,class_id``) are
    ``LabelFile("my_train.txt", label_column=2)``; AVE lists (class first) use
    ``clip_column=1, label_column=0``."""

    path: str | Path = "labels.csv"
    clip_column: int = 0
    label_column: int = 1
    header: bool = False
    delimiter: str = ","


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def segment_centres(n_available: int, n_frames: int) -> np.ndarray:
    """Indices of ``n_frames`` evenly spaced frames out of ``n_available``: the centre of each of
    ``n_frames`` equal segments, ``floor((2i + 1) n_available / (2 n_frames))`` (the test-time
    sampling of Wang et al., 2016, "Temporal Segment Networks", ECCV, Sec. 3.3); indices repeat
    when fewer frames are available than asked for.

    >>> segment_centres(10, 3).tolist(), segment_centres(10, 1).tolist(), segment_centres(2, 4).tolist()
    ([1, 5, 8], [5], [0, 0, 1, 1])
    """
    i = np.arange(n_frames)
    return ((2 * i + 1) * n_available // (2 * n_frames)).astype(np.int64)


def _resolve(root: Path, name: str | Path, what: str, fix: str, is_dir: bool) -> Path:
    p = Path(name).expanduser()
    for cand in (root / p, p):
        if cand.is_dir() if is_dir else cand.is_file():
            return cand
    raise InputError(
        f"{what}={str(name)!r}: {str(root / p)!r} is not a {'folder' if is_dir else 'file'}; {fix}"
    )


def read_label_file(path: Path, spec: LabelFile) -> list[tuple[int, str, str]]:
    """``(row number, clip, class)`` for every non-empty row of ``path`` (UTF-8, BOM allowed)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, delimiter=spec.delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(
            f"labels: cannot read {str(path)!r} ({err}); pass a UTF-8 text file of clip,class rows."
        ) from None
    need = max(spec.clip_column, spec.label_column)
    out = []
    for number, row in enumerate(rows, start=1):
        if (number == 1 and spec.header) or not any(cell.strip() for cell in row):
            continue
        if len(row) <= need:
            raise InputError(
                f"labels: row {number} of {path.name} has {len(row)} field(s) {row!r}, but clip_column="
                f"{spec.clip_column} and label_column={spec.label_column} need {need + 1}; fix the file or the "
                f"LabelFile columns/delimiter (now {spec.delimiter!r})."
            )
        out.append((number, row[spec.clip_column].strip(), row[spec.label_column].strip()))
    if not out:
        raise InputError(f"labels: {str(path)!r} has no (clip, class) rows; fill it or pass another file.")
    return out


def _class_codes(rows: list[tuple[int, str, str]], classes: Sequence[str] | None, path: Path) -> list[str]:
    seen = sorted({r[2] for r in rows})
    if classes is None:
        numeric = all(re.fullmatch(r"-?\d+", c) for c in seen)
        return sorted(seen, key=int) if numeric else seen
    names = [str(c) for c in classes]
    if len(set(names)) != len(names):
        raise InputError(f"classes={list(classes)!r} has duplicates; list each class once.")
    unknown = [c for c in seen if c not in names]
    if unknown:
        raise InputError(
            f"classes={names!r} lacks {unknown} found in {path.name}; add them or pass classes=None "
            "(sorted class names)."
        )
    return names


def read_frames(folder: Path, n_frames: int, size: tuple[int, int], rgb: bool) -> np.ndarray:
    """``n_frames`` evenly spaced images of ``folder`` (:func:`segment_centres`), resized to
    ``size`` = (height, width) with bilinear filtering, in [0, 1]: (n_frames, H, W[, 3]) float32."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: _natural_key(p.name),
    )
    out = np.empty((n_frames, *size, 3) if rgb else (n_frames, *size), dtype=np.float32)
    for k, j in enumerate(segment_centres(len(files), n_frames)):
        try:
            with Image.open(files[j]) as im:
                small = im.convert("RGB" if rgb else "L").resize(
                    (size[1], size[0]), Image.Resampling.BILINEAR
                )
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise InputError(f"cannot read image {str(files[j])!r} ({err}); replace or delete it.") from None
        out[k] = np.asarray(small, dtype=np.float32) / 255.0
    return out


def audio_features(
    wave: np.ndarray, sr: int, cfg: LogMelConfig, fit: Literal["tile", "pad", "resample"]
) -> np.ndarray:
    """Log-mel features (n_mels, n_frames) of one clip (:func:`infomm.data.speech.log_mel`).

    ``fit="tile"`` repeats the waveform until it fills exactly ``n_frames`` frames and cuts the
    rest, as OGM-GE's CREMA-D loader tiles every clip to 3 s (``np.tile(samples, 3)[:22050 * 3]``);
    ``"pad"`` centre-crops or pads the frames with log(eps); ``"resample"`` stretches them in time.

    Tiling 0.1 s of a 1 kHz tone (a whole number of periods) gives the features of the longer tone:

    >>> tone = lambda n: np.sin(2 * np.pi * 1000 * np.arange(n) / 16000)
    >>> cfg = LogMelConfig(n_mels=20, n_frames=30)          # 30 frames of 25 ms, hop 10 ms: 5040 samples
    >>> f = audio_features(tone(1600), 16000, cfg, "tile")
    >>> f.shape, bool(np.allclose(f, log_mel(tone(5040), 16000, 20, 30, fit="pad"), atol=1e-4))
    ((20, 30), True)
    """
    if fit == "tile":
        win = max(2, int(round(sr * cfg.win_ms / 1000)))
        hop = max(1, int(round(sr * cfg.hop_ms / 1000)))
        need = win + (cfg.n_frames - 1) * hop
        wave = np.tile(wave, math.ceil(need / len(wave)))[:need]
    return log_mel(
        wave, sr, cfg.n_mels, cfg.n_frames, cfg.win_ms, cfg.hop_ms, cfg.fmin, cfg.fmax,
        fit="pad" if fit == "tile" else fit,
    )  # fmt: skip


def _read_audio(path: Path, sr: int | None, rate_seen: list[int]) -> tuple[np.ndarray, int]:
    wave, rate = read_wav(path)
    if sr is not None and rate != sr:
        from scipy.signal import resample_poly

        g = math.gcd(rate, sr)
        return resample_poly(wave.astype(np.float64), sr // g, rate // g).astype(np.float32), sr
    if sr is None:
        if rate_seen and rate != rate_seen[0]:
            raise InputError(
                f"{str(path)!r} has sample rate {rate} Hz but earlier clips have {rate_seen[0]} Hz; pass "
                f"sr={rate_seen[0]} (or another rate) to resample every clip to one rate."
            )
        rate_seen.append(rate)
    return wave, rate


def _check_settings(n_frames: Any, frame_size: Any, audio_fit: Any, sr: Any) -> tuple[int, int]:
    if not (isinstance(n_frames, (int, np.integer)) and n_frames >= 1):
        raise InputError(f"n_frames={n_frames!r} must be a positive integer (frames per clip).")
    size = tuple(frame_size) if isinstance(frame_size, (tuple, list)) else ()
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in size):
        raise InputError(f"frame_size={frame_size!r} must be (height, width), two positive integers.")
    if audio_fit not in ("tile", "pad", "resample"):
        raise InputError(f"audio_fit={audio_fit!r} is not known; use 'tile', 'pad' or 'resample'.")
    if sr is not None and not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise InputError(f"sr={sr!r} must be a positive integer sample rate in Hz, or None.")
    return int(size[0]), int(size[1])


def load_clip_folder(
    root: str | Path,
    *,
    audio_dir: str | Path = "audio",
    frames_dir: str | Path = "frames",
    labels: str | Path | LabelFile = "labels.csv",
    classes: Sequence[str] | None = None,
    n_frames: int = 1,
    frame_size: tuple[int, int] = (32, 32),
    rgb: bool = False,
    features: LogMelConfig | None = None,
    audio_fit: Literal["tile", "pad", "resample"] = "tile",
    sr: int | None = None,
) -> PairedDataset:
    """Read a folder of audio-visual clips: modalities ``"audio"`` (n, n_mels, n_frames) log-mel
    energies and ``"visual"`` (n, n_frames, H, W) grey levels in [0, 1] (``(..., 3)`` with ``rgb``).

    Args:
        root: the dataset folder; ``audio_dir``, ``frames_dir`` and the label file are relative to
            it (or absolute).
        audio_dir: holds ``<clip>.wav`` (``.flac``, ``.ogg``); CREMA-D: ``"AudioWAV"``.
        frames_dir: holds one folder of images per clip; CREMA-D in OGM-GE: ``"Image-01-FPS"``.
        labels: the label file, a path or a :class:`LabelFile` (columns, header, delimiter).
        classes: class names in code order (0, 1, ...), e.g. :data:`CREMAD_CLASSES`; None sorts
            the names found (numerically when they are all integers).
        n_frames: frames per clip, evenly spaced (:func:`segment_centres`).
        frame_size: (height, width) after a bilinear resize. rgb: keep colour (last axis 3).
        features: log-mel settings (:class:`~infomm.data.LogMelConfig`); default 40 mels x 300
            frames of 10 ms (3 s, OGM-GE's audio window).
        audio_fit: ``"tile"`` (repeat short clips, cut long ones), ``"pad"`` or ``"resample"``
            (see :func:`audio_features`).
        sr: resample every clip to this rate (Hz); None keeps the files' rate, which must agree.

    Returns:
        a :class:`~infomm.data.PairedDataset` in label-file order; ``meta["classes"]`` names the
        codes, ``meta["skipped"]`` counts the clips left out for lack of audio or frames (as the
        OGM-GE loaders do), ``row_meta["clip"]`` names each row.

    Raises:
        InputError: a missing root, audio or frames folder or label file; a listed clip with
            neither audio nor frames, listed twice, or of a class not in ``classes``; an unreadable
            audio or image file (the message names it); no clip with both modalities.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise InputError(f"root={str(root)!r} is not a folder; pass the dataset folder (e.g. .../CREMA-D).")
    height, width = _check_settings(n_frames, frame_size, audio_fit, sr)
    spec = labels if isinstance(labels, LabelFile) else LabelFile(labels)
    cfg = DEFAULT_FEATURES if features is None else features
    adir = _resolve(base, audio_dir, "audio_dir", "pass the folder of <clip>.wav files.", True)
    fdir = _resolve(base, frames_dir, "frames_dir", "pass the folder of per-clip frame folders.", True)
    lpath = _resolve(base, spec.path, "labels", "pass the CSV of clip,class rows.", False)
    rows = read_label_file(lpath, spec)

    kept: list[tuple[str, str, Path, Path]] = []
    skipped = {"no_audio": 0, "no_frames": 0}
    first_row: dict[str, int] = {}
    for number, clip, cls in rows:
        if clip in first_row:
            raise InputError(
                f"labels: clip {clip!r} is listed twice in {lpath.name} (rows {first_row[clip]} and {number}); "
                "keep one row per clip."
            )
        first_row[clip] = number
        audio = next((adir / f"{clip}{s}" for s in AUDIO_SUFFIXES if (adir / f"{clip}{s}").is_file()), None)
        folder = fdir / clip
        has_frames = folder.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())
        if audio is None and not has_frames:
            hint = " (if row 1 is a header, pass LabelFile(..., header=True))" if number == 1 else ""
            raise InputError(
                f"labels: clip {clip!r} (row {number} of {lpath.name}) has no audio file {adir / clip}.wav and "
                f"no frame folder {folder}; check audio_dir, frames_dir and clip_column={spec.clip_column}{hint}."
            )
        if audio is None or not has_frames:
            skipped["no_audio" if audio is None else "no_frames"] += 1
            continue
        kept.append((clip, cls, audio, folder))
    names = _class_codes(rows, classes, lpath)
    if not kept:
        raise InputError(
            f"root={str(root)!r}: none of the {len(rows)} listed clips has both audio and frames "
            f"(skipped: {skipped}); check audio_dir and frames_dir."
        )

    n = len(kept)
    audio_arr = np.empty((n, cfg.n_mels, cfg.n_frames), dtype=np.float32)
    visual = np.empty((n, n_frames, height, width, 3) if rgb else (n, n_frames, height, width), np.float32)
    rates: list[int] = []
    for i, (_, _, apath, folder) in enumerate(kept):
        wave, rate = _read_audio(apath, sr, rates)
        audio_arr[i] = audio_features(wave, rate, cfg, audio_fit)
        visual[i] = read_frames(folder, n_frames, (height, width), rgb)
    label_arr = np.array([names.index(k[1]) for k in kept], dtype=np.int64)
    meta: dict[str, Any] = {
        "root": str(base),
        "audio_dir": str(adir),
        "frames_dir": str(fdir),
        "labels": str(lpath),
        "classes": names,
        "class_counts": np.bincount(label_arr, minlength=len(names)).tolist(),
        "skipped": skipped,
        "n_frames": int(n_frames),
        "frame_size": (height, width),
        "rgb": bool(rgb),
        "features": asdict(cfg),
        "audio_fit": audio_fit,
        "sample_rate": int(sr) if sr is not None else rates[0],
    }
    rows_meta = {"clip": np.array([k[0] for k in kept])}
    return PairedDataset({"audio": audio_arr, "visual": visual}, label_arr, "clip-folder", meta, rows_meta)
