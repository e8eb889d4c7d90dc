"""Speech synthesized in-process with eSpeak NG, white noise at a set SNR, and log-mel features.

Synthesis loads the ``libespeak-ng`` shared library and voice data shipped in the
``espeakng-loader`` wheel with :mod:`ctypes` (no subprocess, no system package) and runs it in
synchronous mode: a callback collects the 16-bit samples at 22050 Hz. eSpeak NG (Duddington and
Dunn, 2007-, "eSpeak NG text-to-speech", github.com/espeak-ng/espeak-ng) is a formant
synthesizer in the tradition of Klatt (1980), "Software for a cascade/parallel formant
synthesizer", JASA 67(3).

Reproducibility: eSpeak NG keeps a few counters across utterances (the pitch-flutter phase, the
gain control), so the same word can differ by a fraction of a millisecond depending on what the
library said before. :func:`synthesize` uses one engine per process (initialised once, under a
lock); :func:`synthesize_many` loads a private, fresh copy of the library for each batch, so a
batch is bit-identical across runs and processes.

Example:
    >>> wave, sr = synthesize("seven", voice="en-us+m3", rate=160)
    >>> sr, 0.2 < len(wave) / sr < 2.0, float(abs(wave).max()) > 0.05
    (22050, True, True)
    >>> log_mel(wave, sr, n_mels=40, n_frames=32).shape
    (40, 32)
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infomm.interface import InputError

_SYNCHRONOUS, _DONT_EXIT, _POS_CHARACTER, _CHARS_UTF8 = 2, 0x8000, 1, 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_SKIP_ACCENTS = {"en-shaw"}  # Shavian alphabet: English words in a different script


def _loader() -> Any:
    try:
        import espeakng_loader
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError(
            "speech synthesis needs the espeakng-loader wheel: pip install espeakng-loader"
        ) from err
    return espeakng_loader


@dataclass(frozen=True)
class VoiceSpec:
    """One utterance: ``text`` spoken by ``voice`` (accent[+variant]) at ``rate`` words/min,
    base ``pitch`` and ``pitch_range`` (both 0-99, eSpeak's scale; 50 is the voice default)."""

    text: str
    voice: str = "en"
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50


class EspeakEngine:
    """One loaded instance of libespeak-ng in synchronous (retrieval) mode.

    Use :meth:`shared` for the process-wide engine, or :meth:`fresh` (a context manager) for a
    private copy of the library with pristine internal state.
    """

    _shared: EspeakEngine | None = None
    _shared_lock = threading.Lock()

    def __init__(self, library_path: str | None = None) -> None:
        el = _loader()
        self.data_path = str(el.get_data_path())
        self._lib: Any = ctypes.CDLL(library_path or el.get_library_path())
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int]
        lib.espeak_Synth.argtypes += [ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        self.sample_rate = int(lib.espeak_Initialize(_SYNCHRONOUS, 0, self.data_path.encode(), _DONT_EXIT))
        if self.sample_rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise with data at {self.data_path}.")
        self.version = lib.espeak_Info(None).decode()
        self._chunks: list[np.ndarray] = []
        self._callback = _Callback(self._collect)  # keep a reference: C holds only a pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._has_seed = hasattr(lib, "espeak_ng_SetRandSeed")
        self.lock = threading.Lock()

    def _collect(self, wav: Any, n: int, events: Any) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = continue synthesis

    @classmethod
    def shared(cls) -> EspeakEngine:
        """The process-wide engine, initialised on first use (thread-safe)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @classmethod
    @contextlib.contextmanager
    def fresh(cls) -> Iterator[EspeakEngine]:
        """A private engine loaded from a temporary copy of the library (fresh static state)."""
        tmp = tempfile.mkdtemp(prefix="infomm-espeak-")
        engine: EspeakEngine | None = None
        try:
            src = Path(_loader().get_library_path())
            shutil.copyfile(src, Path(tmp) / src.name)
            engine = cls(str(Path(tmp) / src.name))
        except OSError as err:  # e.g. a temp folder mounted noexec
            warnings.warn(
                f"could not load a private eSpeak NG copy ({err}); using the shared engine, "
                "so synthesis may vary slightly between runs.",
                RuntimeWarning,
                stacklevel=3,
            )
        try:
            yield engine if engine is not None else cls.shared()
        finally:
            if engine is not None:
                engine.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        """Terminate eSpeak NG and unload this copy of the library."""
        import _ctypes

        self._lib.espeak_Terminate()
        handle, self._lib = self._lib._handle, None
        unload = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
        if unload is not None:
            unload(handle)

    def synthesize(self, spec: VoiceSpec, seed: int = 0) -> np.ndarray:
        """Speak ``spec``; return int16 samples at :attr:`sample_rate` (with eSpeak's padding)."""
        _check_spec(spec, self.data_path)
        with self.lock:
            lib = self._lib
            if lib.espeak_SetVoiceByName(spec.voice.encode()) != 0:
                raise InputError(f"voice={spec.voice!r} is not in the eSpeak NG data; see english_voices().")
            for param, value in ((_RATE, spec.rate), (_PITCH, spec.pitch), (_RANGE, spec.pitch_range)):
                lib.espeak_SetParameter(param, int(value), 0)
            lib.espeak_SetParameter(_VOLUME, 100, 0)
            if self._has_seed:
                lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
            self._chunks = []
            text = spec.text.encode("utf-8") + b"\0"
            err = lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            if err != 0:
                raise RuntimeError(f"eSpeak NG failed to synthesize {spec!r} (error {err}).")
            out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            self._chunks = []
        return out.astype(np.int16, copy=False)


def _data_dir() -> Path:
    return Path(_loader().get_data_path())


def english_accents() -> list[str]:
    """English accents shipped in the eSpeak NG data, e.g. ``en`` (British), ``en-us``, ``en-029``.

    >>> {"en", "en-us", "en-gb-scotland"} <= set(english_accents())
    True
    """
    lang = _data_dir() / "lang" / "gmw"
    found = sorted(p.name.lower() for p in lang.glob("en*") if p.is_file())
    return [a for a in found if a not in _SKIP_ACCENTS]


def voice_variants(kind: Literal["human", "all"] = "human") -> list[str]:
    """Voice variants shipped in the data (``voices/!v``): ``"human"`` gives the male ``m1..`` and
    female ``f1..`` variants, ``"all"`` every variant (klatt, whisper, robots ...).

    >>> {"m1", "m3", "f2"} <= set(voice_variants())
    True
    """
    names = sorted(p.name for p in (_data_dir() / "voices" / "!v").iterdir() if p.is_file())
    if kind == "all":
        return names
    if kind != "human":
        raise InputError(f"kind={kind!r} is not known; use 'human' or 'all'.")
    return [n for n in names if len(n) == 2 and n[0] in "mf" and n[1].isdigit()]


def english_voices() -> list[str]:
    """Every ``accent`` and ``accent+variant`` voice name for :func:`synthesize`.

    >>> "en-029+f2" in english_voices()
    True
    """
    return [a + v for a in english_accents() for v in ["", *("+" + m for m in voice_variants())]]


def _check_spec(spec: VoiceSpec, data_path: str) -> None:
    if not isinstance(spec.text, str) or not spec.text.strip():
        raise InputError(f"text={spec.text!r} must be a non-empty string.")
    if not 80 <= int(spec.rate) <= 450:
        raise InputError(f"rate={spec.rate!r} words per minute is outside eSpeak's range; use 80-450.")
    for name, value in (("pitch", spec.pitch), ("pitch_range", spec.pitch_range)):
        if not 0 <= int(value) <= 99:
            raise InputError(f"{name}={value!r} is outside eSpeak's range; use an integer in 0-99.")
    if "+" in spec.voice:
        variant = spec.voice.split("+", 1)[1]
        if not (Path(data_path) / "voices" / "!v" / variant).is_file():
            raise InputError(
                f"voice={spec.voice!r}: variant {variant!r} is not shipped; use one of "
                f"{voice_variants()} (or voice_variants('all'))."
            )


def synthesize(
    text: str, voice: str = "en", rate: int = 175, pitch: int = 50, pitch_range: int = 50, trim: bool = True
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with eSpeak NG in this process; return ``(waveform, sample_rate)``.

    Args:
        text: what to say.
        voice: ``accent`` or ``accent+variant``, e.g. ``"en-gb-scotland+m3"`` (see :func:`english_voices`).
        rate: speed in words per minute (80-450). pitch, pitch_range: 0-99 (50 = voice default).
        trim: cut leading and trailing silence (:func:`trim_silence`).

    Returns:
        waveform: float32 array (T,) in [-1, 1]; sample_rate: 22050 for the shipped data.
    """
    engine = EspeakEngine.shared()
    pcm = engine.synthesize(VoiceSpec(text, voice, rate, pitch, pitch_range))
    wave = pcm.astype(np.float32) / 32768.0
    return (trim_silence(wave, engine.sample_rate) if trim else wave), engine.sample_rate


def synthesize_many(
    specs: Sequence[VoiceSpec], trim: bool = True, progress: bool = False
) -> tuple[list[np.ndarray], int]:
    """Speak every spec with one fresh private engine, so the batch is bit-reproducible.

    >>> waves, sr = synthesize_many([VoiceSpec("one"), VoiceSpec("two", "en-us+f1")])
    >>> again, _ = synthesize_many([VoiceSpec("one"), VoiceSpec("two", "en-us+f1")])
    >>> all(np.array_equal(a, b) for a, b in zip(waves, again))
    True
    """
    out: list[np.ndarray] = []
    with EspeakEngine.fresh() as engine:
        items: Any = specs
        if progress:
            from rich.progress import track

            items = track(specs, description="synthesizing speech", transient=True)
        for i, spec in enumerate(items):
            wave = engine.synthesize(spec, seed=i).astype(np.float32) / 32768.0
            out.append(trim_silence(wave, engine.sample_rate) if trim else wave)
        return out, engine.sample_rate


def trim_silence(waveform: np.ndarray, sr: int, top_db: float = 40.0, frame_ms: float = 10.0) -> np.ndarray:
    """Drop leading/trailing frames whose energy is ``top_db`` below the loudest frame.

    >>> x = np.r_[np.zeros(800), np.ones(400), np.zeros(800)].astype(np.float32)
    >>> len(trim_silence(x, 8000))
    400
    """
    x = np.asarray(waveform, dtype=np.float32)
    hop = max(1, int(round(sr * frame_ms / 1000)))
    n = len(x) // hop
    if n < 2:
        return x
    energy = (x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1)
    if energy.max() <= 0:
        return x
    loud = np.nonzero(energy >= energy.max() * 10 ** (-top_db / 10))[0]
    return x[loud[0] * hop : min(len(x), (loud[-1] + 1) * hop)]


def add_white_noise(waveform: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise scaled so that ``10 log10(P_signal / P_noise) = snr_db`` exactly.

    P is the mean square over the whole clip (global, not segmental, SNR), so the empirical noise
    is rescaled to hit ``snr_db`` to float precision rather than only in expectation. Shapes:
    waveform (T,) -> (T,) float32.

    >>> x = np.sin(np.linspace(0, 60, 4000)).astype(np.float32)
    >>> round(measured_snr_db(x, add_white_noise(x, 5.0, np.random.default_rng(0))), 3)
    5.0
    """
    x = np.asarray(waveform, dtype=np.float64)
    p_signal = float(np.mean(x**2)) if x.size else 0.0
    if p_signal <= 0:
        raise InputError("waveform is silent (zero power); an SNR is undefined for it.")
    if not np.isfinite(snr_db):
        raise InputError(
            f"snr_db={snr_db!r} must be a finite number of decibels (use no noise instead of inf)."
        )
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(p_signal / 10 ** (snr_db / 10) / np.mean(noise**2))
    return (x + noise).astype(np.float32)


def measured_snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """``10 log10(sum clean^2 / sum (noisy - clean)^2)`` in dB; shapes (T,), (T,) -> float.

    >>> round(measured_snr_db(np.ones(4), np.ones(4) + 0.1), 6)
    20.0
    """
    c = np.asarray(clean, dtype=np.float64)
    d = np.asarray(noisy, dtype=np.float64) - c
    return float(10 * np.log10(np.sum(c**2) / np.sum(d**2)))


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale ``m = 2595 log10(1 + f / 700)`` (Young et al., 2006, The HTK Book v3.4, Sec. 5.4, Eq. 5.13).

    >>> round(float(hz_to_mel(1000.0)), 1), round(float(mel_to_hz(hz_to_mel(440.0))), 6)
    (1000.0, 440.0)
    """
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters of unit peak, equally spaced in mel: shape (n_mels, n_fft // 2 + 1).

    >>> fb = mel_filterbank(8000, 256, 40)
    >>> fb.shape, float(fb.max()) <= 1.0, bool((fb.sum(axis=1) > 0).all())
    ((40, 129), True, True)
    """
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise InputError(f"fmin={fmin!r}, fmax={fmax!r}: need 0 <= fmin < fmax <= sr/2 = {sr / 2}.")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0.0, sr / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    if (fb.sum(axis=1) == 0).any():
        raise InputError(
            f"n_mels={n_mels} is too many for n_fft={n_fft} at sr={sr}: some mel filters fall "
            "between FFT bins; use fewer mels or a longer window."
        )
    return fb


@functools.lru_cache(maxsize=32)
def _cached_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    fb.setflags(write=False)
    return fb


def log_mel(
    waveform: np.ndarray,
    sr: int,
    n_mels: int = 40,
    n_frames: int = 32,
    win_ms: float = 25.0,
    hop_ms: float = 10.0,
    fmin: float = 20.0,
    fmax: float | None = None,
    fit: Literal["resample", "pad"] = "resample",
    eps: float = 1e-10,
) -> np.ndarray:
    """Log mel-filterbank energies with a fixed number of frames: shape (n_mels, n_frames), float32.

    Frames of ``win_ms`` (Hann window, hop ``hop_ms``, FFT size the next power of two) give the
    power spectrum ``|X_t(k)|^2``; triangular mel filters H_m (:func:`mel_filterbank`) give
    ``S[m, t] = log(eps + sum_k H_m(k) |X_t(k)|^2)``, the log filter-bank energies X_k of Davis &
    Mermelstein (1980), "Comparison of parametric representations for monosyllabic word
    recognition in continuously spoken sentences", IEEE TASSP 28(4), Eq. (1) (before its cosine
    transform). ``fit="resample"`` maps the T frames onto ``n_frames`` by linear interpolation
    in time (a duration normalisation); ``"pad"`` centre-crops or pads with ``log(eps)``.

    Written with numpy rather than librosa or torchaudio: librosa pulls in numba/llvmlite and
    audioread, and torchaudio wheels are tied to one specific torch build, both heavy for ten
    lines of math.

    >>> t = np.arange(8000) / 8000
    >>> S = log_mel(np.sin(2 * np.pi * 1000 * t), 8000, n_mels=40, n_frames=32)
    >>> fb_peak = int(np.argmax(mel_filterbank(8000, 256, 40, 20.0)[:, 32]))  # bin of 1 kHz
    >>> S.shape, int(np.argmax(S.mean(axis=1))) == fb_peak
    ((40, 32), True)
    """
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise InputError(f"waveform has shape {x.shape}; pass a non-empty, finite 1-D array of samples.")
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise InputError(f"sr={sr!r} must be a positive integer sample rate in Hz.")
    for name, value in (("n_mels", n_mels), ("n_frames", n_frames)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise InputError(f"{name}={value!r} must be a positive integer.")
    if fit not in ("resample", "pad"):
        raise InputError(f"fit={fit!r} is not known; use 'resample' or 'pad'.")
    win = max(2, int(round(sr * win_ms / 1000)))
    hop = max(1, int(round(sr * hop_ms / 1000)))
    n_fft = 1 << (win - 1).bit_length()
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2  # (T, n_fft//2+1)
    spec = np.log(
        eps + _cached_filterbank(int(sr), n_fft, int(n_mels), float(fmin), fmax) @ power.T
    )  # (n_mels, T)
    t = spec.shape[1]
    if fit == "resample":
        pos = np.linspace(0.0, t - 1.0, n_frames)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, t - 1)
        w = pos - i0
        out = spec[:, i0] * (1 - w) + spec[:, i1] * w
    elif t >= n_frames:
        start = (t - n_frames) // 2
        out = spec[:, start : start + n_frames]
    else:
        out = np.full((n_mels, n_frames), np.log(eps))
        start = (n_frames - t) // 2
        out[:, start : start + t] = spec
    return out.astype(np.float32)
