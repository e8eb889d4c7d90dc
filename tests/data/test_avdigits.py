"""AV-digits, eSpeak NG synthesis, noise at a set SNR, log-mel features and PairedDataset."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from infomm.data.avdigits import (
    AUDIO_SR,
    DIGIT_WORDS,
    _digit_images,
    cache_dir,
    load_avdigits,
    pool_specs,
    speech_pool,
)
from infomm.data.base import PairedDataset
from infomm.data.speech import (
    VoiceSpec,
    add_white_noise,
    english_accents,
    english_voices,
    hz_to_mel,
    log_mel,
    measured_snr_db,
    mel_filterbank,
    mel_to_hz,
    synthesize,
    synthesize_many,
    voice_variants,
)
from infomm.interface import InputError

SMALL = {"n_per_class": 40, "pool_size": 10}
TINY = {"n_per_class": 10, "pool_size": 10}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOMM_CACHE", str(tmp_path / "cache"))


def _accuracy(x: np.ndarray, y: np.ndarray) -> float:
    a, b, c, d = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200, C=0.1)).fit(a, c)
    return float(clf.score(b, d))


# ---------------------------------------------------------------- synthesis


def test_synthesized_digits_are_speech_like():
    for word in DIGIT_WORDS:
        wave, sr = synthesize(word)
        assert sr == 22050 and wave.dtype == np.float32
        assert 0.2 < len(wave) / sr < 2.0, (word, len(wave) / sr)
        assert np.sqrt(np.mean(wave**2)) > 0.02 and np.abs(wave).max() <= 1.0
    # slower speech lasts longer
    slow, _ = synthesize("seven", rate=100)
    fast, _ = synthesize("seven", rate=300)
    assert len(slow) > 1.8 * len(fast)


def test_different_digits_give_different_spectrograms():
    feats = {w: [log_mel(*synthesize(w, "en-us", rate=r)) for r in (165, 175, 185)] for w in DIGIT_WORDS}
    inter = min(np.abs(feats[a][1] - feats[b][1]).mean() for a in DIGIT_WORDS for b in DIGIT_WORDS if a < b)
    intra = max(np.abs(f[k] - f[1]).mean() for f in feats.values() for k in (0, 2))
    assert inter > 1.2 * intra  # a digit differs from every other digit more than from itself at +-10 wpm


def test_voice_lists_match_the_shipped_data():
    accents = english_accents()
    assert {"en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp"} <= set(accents)
    assert "en-shaw" not in accents
    assert {f"m{i}" for i in range(1, 8)} | {f"f{i}" for i in range(1, 5)} <= set(voice_variants())
    assert "klatt" in voice_variants("all") and "klatt" not in voice_variants()
    assert len(english_voices()) == len(accents) * (1 + len(voice_variants()))
    # a female variant speaks higher than a male one, and the pitch parameter raises f0
    m, sr = synthesize("ah", "en+m1")
    f, _ = synthesize("ah", "en+f1")
    assert _pitch(f, sr) > 1.4 * _pitch(m, sr)
    f0 = [_pitch(synthesize("ah", "en", pitch=p)[0], sr) for p in (10, 50, 90)]
    assert 50 < f0[0] < f0[1] < f0[2] < 300


def _pitch(x: np.ndarray, sr: int) -> float:
    """f0 by the YIN cumulative-mean-normalised difference (de Cheveigne & Kawahara, 2002, Eq. 8)."""
    seg = x[len(x) // 4 : 3 * len(x) // 4].astype(np.float64)
    w, hi, lo = len(seg) // 2, sr // 60, sr // 500
    d = np.array([np.sum((seg[:w] - seg[t : t + w]) ** 2) for t in range(1, hi)])
    dn = d * np.arange(1, hi) / np.cumsum(d)
    below = np.nonzero(dn[lo:] < 0.2)[0]
    k = lo + (int(below[0]) if below.size else int(np.argmin(dn[lo:])))
    while k + 1 < len(dn) and dn[k + 1] < dn[k]:
        k += 1
    return sr / (k + 1)


def test_synthesize_many_is_bit_reproducible():
    specs = [VoiceSpec("four", "en-029+f2", 150, 40, 60), VoiceSpec("nine", "en-gb-scotland+m3", 220)]
    a, sr = synthesize_many(specs)
    synthesize("something else entirely", "en-us+m7")  # changes the shared engine's history
    b, _ = synthesize_many(specs)
    assert sr == 22050 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_private_engine_falls_back_to_the_shared_one(monkeypatch):
    import infomm.data.speech as speech

    def fail(*args, **kwargs):
        raise OSError("temp folder mounted noexec")

    monkeypatch.setattr(speech.shutil, "copyfile", fail)
    with pytest.warns(RuntimeWarning, match="noexec"):
        (wave,), sr = synthesize_many([VoiceSpec("two")])
    assert sr == 22050 and abs(len(wave) - len(synthesize("two")[0])) < 0.05 * len(wave)


def test_shared_engine_is_thread_safe():
    ref = {w: len(synthesize(w)[0]) for w in ("one", "five", "eight")}
    out: list[tuple[str, int]] = []

    def work(word: str) -> None:
        for _ in range(5):
            out.append((word, len(synthesize(word)[0])))

    threads = [threading.Thread(target=work, args=(w,)) for w in ref for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 30
    assert all(abs(n - ref[w]) < 0.05 * ref[w] for w, n in out)  # no interleaved or truncated audio


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"voice": "en+m99"}, "m99"),
        ({"voice": "xx-nonexistent"}, "xx-nonexistent"),
        ({"rate": 20}, "rate=20"),
        ({"pitch": 150}, "pitch=150"),
    ],
)
def test_bad_synthesis_arguments(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        synthesize("one", **kwargs)
    with pytest.raises(InputError, match="text"):
        synthesize("   ")


# ---------------------------------------------------------------- noise and features


@pytest.mark.parametrize("snr", [-10.0, 0.0, 10.0, 25.0])
def test_noise_is_added_at_the_requested_snr(snr):
    clean, _ = synthesize("three", "en-us+f3")
    noisy = add_white_noise(clean, snr, np.random.default_rng(3))
    assert abs(measured_snr_db(clean, noisy) - snr) < 0.5
    noise = noisy.astype(np.float64) - clean
    assert abs(noise.mean()) < 0.05 * noise.std()  # zero-mean
    spec = np.abs(np.fft.rfft(noise)) ** 2  # white: low and high halves carry equal power
    half = len(spec) // 2
    assert 0.9 < spec[:half].sum() / spec[half:].sum() < 1.1


def test_mel_scale_and_filterbank_truths():
    assert abs(float(hz_to_mel(1000.0)) - 1000.0) < 0.1  # the mel scale's anchor: 1 kHz = 1000 mel
    f = np.array([0.0, 123.0, 4000.0, 11025.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)
    fb = mel_filterbank(8000, 256, 40, 20.0, 4000.0)
    freqs = np.linspace(0, 4000, 129)
    centres = mel_to_hz(np.linspace(hz_to_mel(20.0), hz_to_mel(4000.0), 42))[1:-1]
    inside = (freqs >= centres[0]) & (freqs <= centres[-1])
    assert np.allclose(fb[:, inside].sum(axis=0), 1.0)  # adjacent triangles sum to one
    assert np.all(np.diff(np.argmax(fb, axis=1)) >= 0)  # filters ordered in frequency
    with pytest.raises(InputError, match="n_mels"):
        mel_filterbank(8000, 64, 80)


def test_log_mel_tracks_a_tone_and_has_fixed_shape():
    t = np.arange(4000) / 8000
    peaks = []
    for hz in (300.0, 800.0, 2000.0):
        S = log_mel(np.sin(2 * np.pi * hz * t), 8000)
        assert S.shape == (40, 32) and S.dtype == np.float32
        peaks.append(int(np.argmax(S.mean(axis=1))))
    assert peaks[0] < peaks[1] < peaks[2]
    short = log_mel(np.ones(100), 8000, fit="pad")  # shorter than a frame: padded with log(eps)
    assert short.shape == (40, 32) and np.isclose(short[:, 0].min(), np.log(1e-10))
    for bad in (np.zeros((2, 3)), np.array([np.nan, 1.0])):
        with pytest.raises(InputError, match="waveform"):
            log_mel(bad, 8000)


# ---------------------------------------------------------------- the dataset


def test_rows_pair_images_and_audio_of_the_same_digit():
    ds = load_avdigits(audio_snr_db=None, seed=3, cache=False, **SMALL)
    assert isinstance(ds, PairedDataset) and len(ds) == 400 and ds.name == "avdigits"
    assert np.array_equal(np.bincount(ds.labels), np.full(10, 40))
    assert np.array_equal(ds.labels, ds.row_meta["audio_label"])
    images, labels = _digit_images()
    lookup = {im.tobytes(): lab for im, lab in zip(images.astype(np.float32), labels, strict=True)}
    assert all(lookup[im.tobytes()] == y for im, y in zip(ds.modalities["image"], ds.labels, strict=True))
    clips, clip_labels, _ = speech_pool(SMALL["pool_size"], 3, cache=False)
    for i in (0, 137, 399):  # clean audio features are exactly the log-mel of the paired clip
        j = ds.row_meta["audio_clip"][i]
        assert clip_labels[j] == ds.labels[i]
        assert np.array_equal(ds.modalities["audio"][i], log_mel(clips[j], AUDIO_SR))
    assert set(ds.row_meta["audio_speaker"]) <= set(english_voices())


def test_seeded_identical_and_different_seed_differs():
    a = load_avdigits(image_noise=0.2, seed=5, cache=False, **TINY)
    b = load_avdigits(image_noise=0.2, seed=5, cache=False, **TINY)
    c = load_avdigits(image_noise=0.2, seed=6, cache=False, **TINY)
    for m in ("image", "audio"):
        assert np.array_equal(a.modalities[m], b.modalities[m])
        assert not np.array_equal(a.modalities[m], c.modalities[m])
    assert np.array_equal(a.labels, b.labels)
    clean = load_avdigits(image_noise=0.0, seed=5, cache=False, **TINY)
    resid = a.modalities["image"] - clean.modalities["image"]  # same subset, only the noise added
    assert abs(resid.std() - 0.2) < 0.01 and abs(resid.mean()) < 0.01  # 6,400 pixels: s.e. 0.0018


def test_classifiers_find_the_label_and_noise_hurts_audio():
    hi = load_avdigits(audio_snr_db=30.0, seed=0, cache=False, n_per_class=50, pool_size=10)
    lo = load_avdigits(audio_snr_db=-10.0, seed=0, cache=False, n_per_class=50, pool_size=10)
    acc_hi, acc_lo = _accuracy(hi.flat("audio"), hi.labels), _accuracy(lo.flat("audio"), lo.labels)
    acc_img = _accuracy(hi.flat("image"), hi.labels)
    print(f"audio acc at 30 dB {acc_hi:.3f}, at -10 dB {acc_lo:.3f}; image acc {acc_img:.3f}")
    assert acc_hi > 0.9 and acc_img > 0.85
    assert acc_lo < acc_hi - 0.1 and acc_lo > 0.2  # degraded, still above chance (0.1)


def test_cache_round_trip_and_corrupt_file_is_rebuilt():
    first = load_avdigits(seed=1, **TINY)
    path = cache_dir() / first.meta["cache_path"].split("/")[-1]
    assert first.meta["from_cache"] is False and path.exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind
    second = load_avdigits(seed=1, **TINY)
    assert second.meta["from_cache"] is True
    assert np.array_equal(first.modalities["audio"], second.modalities["audio"])
    raw = path.read_bytes()
    for corrupt in (raw[: len(raw) // 2], raw[:-200] + bytes(200), b"not a cache"):
        path.write_bytes(corrupt)
        again = load_avdigits(seed=1, **TINY)
        assert again.meta["from_cache"] is False
        assert np.array_equal(first.modalities["audio"], again.modalities["audio"])
        assert load_avdigits(seed=1, **TINY).meta["from_cache"] is True  # rewritten, valid
    other = load_avdigits(seed=1, n_per_class=10, pool_size=11)  # other parameters, other file
    assert other.meta["cache_path"] != first.meta["cache_path"]


def test_pool_specs_vary_voice_rate_and_pitch():
    specs = pool_specs(30, seed=0)
    assert len(specs) == 300 and [s.text for s in specs[::30]] == list(DIGIT_WORDS)
    assert len({s.voice for s in specs}) > 50
    assert min(s.rate for s in specs) >= 120 and max(s.rate for s in specs) <= 260
    assert len({s.pitch for s in specs}) > 30
    assert pool_specs(30, seed=0) == specs and pool_specs(30, seed=1) != specs


def test_bad_dataset_arguments():
    for kwargs, fragment in [
        ({"audio_source": "tape"}, "audio_source"),
        ({"audio_source": "fsdd"}, "fsdd_root"),
        ({"n_per_class": 500}, "n_per_class=500"),
        ({"n_per_class": 0}, "n_per_class=0"),
        ({"image_noise": -1.0}, "image_noise"),
        ({"audio_snr_db": float("inf")}, "audio_snr_db"),
        ({"seed": -1}, "seed"),
        ({"pool_size": 0}, "pool_size"),
    ]:
        with pytest.raises(InputError, match=fragment):
            load_avdigits(cache=False, **kwargs)


# ---------------------------------------------------------------- PairedDataset


def test_paired_dataset_container():
    x = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    ds = PairedDataset(
        {"a": x, "b": np.ones((4, 5))}, np.array([0, 1, 2, 1]), "toy", {"k": 1}, {"id": np.arange(4)}
    )
    assert np.array_equal(ds.flat("a"), x.reshape(4, 6)) and ds.flat("a").dtype == np.float64
    sub = ds.subset(np.array([False, True, False, True]))
    assert sub.labels.tolist() == [1, 1] and sub.row_meta["id"].tolist() == [1, 3] and sub.meta == {"k": 1}
    assert ds.subset(slice(1, 3)).labels.tolist() == [1, 2]
    import torch

    batch_x, batch_y = next(iter(torch.utils.data.DataLoader(ds.to_torch(), batch_size=4)))
    assert torch.equal(batch_x["a"], torch.from_numpy(x.astype(np.float32))) and batch_y.tolist() == [
        0,
        1,
        2,
        1,
    ]
    with pytest.raises(InputError, match="'b' has shape"):
        PairedDataset({"a": x, "b": np.ones((3, 5))}, np.arange(4))
    with pytest.raises(InputError, match="modality='c'"):
        ds.flat("c")
    with pytest.raises(InputError, match="outside"):
        ds.subset([7])
    with pytest.raises(InputError, match="non-finite"):
        PairedDataset({"a": np.array([[np.nan]])}, np.array([0]))
