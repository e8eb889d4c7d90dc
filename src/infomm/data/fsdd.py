"""Loader for Free Spoken Digit Dataset recordings (a folder of ``{digit}_{speaker}_{index}.wav``).

The Free Spoken Digit Dataset (Jackson et al., 2018, "Free Spoken Digit Dataset (FSDD)",
Zenodo, doi:10.5281/zenodo.1342401) holds mono 8 kHz 16-bit WAV recordings of the digits 0-9,
50 per digit and speaker; indices 0-4 form the official test split. infomm never downloads it:
point :func:`load_fsdd` at your own copy (the repository root or its ``recordings`` folder).

Example:
    >>> import tempfile, soundfile as sf
    >>> root = Path(tempfile.mkdtemp())
    >>> sf.write(root / "3_ann_0.wav", np.zeros(800, np.int16), 8000, subtype="PCM_16")
    >>> rec = load_fsdd(root)[0]
    >>> rec.digit, rec.speaker, rec.index, rec.sr, rec.waveform.shape
    (3, 'ann', 0, 8000, (800,))
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infomm.interface import InputError

FSDD_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[A-Za-z0-9-]+)_(?P<index>\d+)\.wav$", re.IGNORECASE)


@dataclass(frozen=True)
class FSDDRecording:
    """One recording: ``waveform`` (T,) float32 in [-1, 1] (channels averaged), its sample rate,
    the spoken ``digit`` (0-9), ``speaker``, ``index`` and source ``path``."""

    waveform: np.ndarray = field(repr=False)
    sr: int
    digit: int
    speaker: str
    index: int
    path: Path


def _resolve_root(root: str | Path) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise InputError(
            f"root={str(root)!r} does not exist; pass the folder holding the FSDD recordings "
            "(files named {digit}_{speaker}_{index}.wav)."
        )
    if not path.is_dir():
        raise InputError(
            f"root={str(root)!r} is a file, not a folder; pass the folder holding the recordings."
        )
    if not any(path.glob("*.wav")) and (path / "recordings").is_dir():
        return path / "recordings"  # the repository root was given
    return path


def fsdd_files(root: str | Path) -> list[tuple[Path, int, str, int]]:
    """``(path, digit, speaker, index)`` for every well-named WAV in ``root``, sorted.

    Other files are ignored; ``.wav`` files with another name pattern are reported in one
    :class:`UserWarning` and skipped.
    """
    folder = _resolve_root(root)
    found: list[tuple[Path, int, str, int]] = []
    odd: list[str] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() != ".wav":
            continue
        m = FSDD_NAME.match(p.name)
        if m is None:
            odd.append(p.name)
            continue
        found.append((p, int(m["digit"]), m["speaker"].lower(), int(m["index"])))
    if odd:
        shown = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
        warnings.warn(
            f"skipped {len(odd)} WAV file(s) in {folder} not named {{digit}}_{{speaker}}_{{index}}.wav: {shown}",
            UserWarning,
            stacklevel=3,
        )
    if not found:
        raise InputError(
            f"root={str(root)!r} has no files named {{digit}}_{{speaker}}_{{index}}.wav (e.g. 7_jackson_12.wav); "
            "pass the FSDD 'recordings' folder."
        )
    found.sort(key=lambda r: (r[2], r[1], r[3]))
    return found


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV as float32 mono (channels averaged); InputError naming the file if unreadable."""
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as err:  # sf.LibsndfileError is a RuntimeError
        raise InputError(f"cannot read WAV file {str(path)!r} ({err}); replace or delete it.") from err
    if data.shape[0] == 0:
        raise InputError(f"WAV file {str(path)!r} has no samples; replace or delete it.")
    wave = data.mean(axis=1).astype(np.float32)
    if not np.isfinite(wave).all():
        raise InputError(f"WAV file {str(path)!r} contains non-finite samples; replace or delete it.")
    return wave, int(sr)


def load_fsdd(
    root: str | Path, speakers: Iterable[str] | None = None, digits: Iterable[int] | None = None
) -> list[FSDDRecording]:
    """Read FSDD recordings from ``root``, optionally only some ``speakers`` and ``digits``.

    Returns:
        a list of :class:`FSDDRecording`, sorted by (speaker, digit, index).

    Raises:
        InputError: missing folder, no matching files, an unknown speaker or digit, or an
            unreadable/corrupt WAV (the message names the file).
    """
    files = fsdd_files(root)
    if speakers is not None:
        if isinstance(speakers, str):
            speakers = [speakers]
        wanted = {s.lower() for s in speakers}
        known = sorted({f[2] for f in files})
        missing = sorted(wanted - set(known))
        if missing:
            raise InputError(
                f"speakers={sorted(wanted)!r}: {missing} not found in {root}; available: {known}."
            )
        files = [f for f in files if f[2] in wanted]
    if digits is not None:
        wanted_d = {int(d) for d in digits}
        if not wanted_d <= set(range(10)):
            raise InputError(f"digits={sorted(wanted_d)!r} must be integers in 0-9.")
        files = [f for f in files if f[1] in wanted_d]
        if not files:
            raise InputError(f"digits={sorted(wanted_d)!r}: no recordings of these digits in {root}.")
    out = []
    for path, digit, speaker, index in files:
        wave, sr = read_wav(path)
        out.append(FSDDRecording(wave, sr, digit, speaker, index, path))
    return out
