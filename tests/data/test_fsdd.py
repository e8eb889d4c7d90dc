"""Free Spoken Digit loader: WAV fixtures written with soundfile, and the real recordings if present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from infomm.data.avdigits import AUDIO_SR, load_avdigits
from infomm.data.fsdd import load_fsdd
from infomm.interface import InputError

# the real recordings live in ../shared beside the repository (CI has it; users need not)
REAL = Path(
    os.environ.get("INFOMM_FSDD_ROOT", Path(__file__).resolve().parents[3] / "shared/data/fsdd/recordings")
)


def _tone(digit: int, n: int = 2400, sr: int = 8000) -> np.ndarray:
    """A tone whose pitch encodes the digit (300 Hz + 250 Hz per digit), as int16."""
    t = np.arange(n) / sr
    return (0.5 * 32767 * np.sin(2 * np.pi * (300 + 250 * digit) * t)).astype(np.int16)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for digit in range(10):
        for speaker in ("ann", "bob"):
            for index in range(2):
                sf.write(tmp_path / f"{digit}_{speaker}_{index}.wav", _tone(digit), 8000, subtype="PCM_16")
    return tmp_path


def test_reads_exact_samples_and_parses_names(folder: Path):
    recs = load_fsdd(folder)
    assert len(recs) == 40
    assert [(r.speaker, r.digit, r.index) for r in recs[:3]] == [("ann", 0, 0), ("ann", 0, 1), ("ann", 1, 0)]
    r = next(r for r in recs if (r.digit, r.speaker, r.index) == (7, "bob", 1))
    assert r.sr == 8000 and r.path.name == "7_bob_1.wav"
    assert np.array_equal(r.waveform, _tone(7).astype(np.float32) / 32768)  # PCM_16 round trip is exact
    assert {x.speaker for x in load_fsdd(folder, speakers=["BOB"])} == {"bob"}
    assert {x.digit for x in load_fsdd(folder, digits=[2, 5])} == {2, 5}


def test_badly_named_files_are_reported_and_ignored(folder: Path):
    sf.write(folder / "hello.wav", _tone(1), 8000)
    sf.write(folder / "3-ann-4.wav", _tone(3), 8000)
    (folder / "README.txt").write_text("not audio")
    with pytest.warns(UserWarning, match=r"skipped 2 WAV.*3-ann-4\.wav, hello\.wav"):
        recs = load_fsdd(folder)
    assert len(recs) == 40


def test_corrupt_wav_names_the_file(folder: Path):
    (folder / "5_carl_0.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" * 3)
    with pytest.raises(InputError, match="5_carl_0.wav"):
        load_fsdd(folder)
    assert len(load_fsdd(folder, speakers=["ann"])) == 20  # the others still load
    sf.write(folder / "6_dora_0.wav", np.zeros(0, np.int16), 8000)
    with pytest.raises(InputError, match="6_dora_0.wav"):
        load_fsdd(folder, speakers=["dora"])


def test_missing_or_empty_folder(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        load_fsdd(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no files named"):
        load_fsdd(tmp_path)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        load_fsdd(tmp_path / "x.txt")


def test_unknown_speaker_or_digit(folder: Path):
    with pytest.raises(InputError, match=r"\['zed'\] not found.*available: \['ann', 'bob'\]"):
        load_fsdd(folder, speakers=["zed"])
    with pytest.raises(InputError, match="0-9"):
        load_fsdd(folder, digits=[12])


def test_repository_root_stereo_and_other_rates(tmp_path: Path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    left, right = _tone(4, 3200, 16000), np.zeros(3200, np.int16)
    sf.write(rec / "4_eve_0.wav", np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    (r,) = load_fsdd(tmp_path)  # the repository root resolves to its recordings/ folder
    assert r.sr == 16000 and np.allclose(r.waveform, left / 32768 / 2, atol=1e-6)  # channels averaged


def test_avdigits_with_tone_recordings(folder: Path, tmp_path: Path):
    sf.write(folder / "0_hi_0.wav", _tone(0, 4800, 16000), 16000, subtype="PCM_16")  # resampled to 8 kHz
    ds = load_avdigits(n_per_class=5, audio_snr_db=20.0, seed=0, audio_source="fsdd", fsdd_root=folder)
    assert len(ds) == 50 and np.array_equal(ds.labels, ds.row_meta["audio_label"])
    assert ds.meta["audio_sr"] == AUDIO_SR and ds.meta["speakers"] == ["ann", "bob", "hi"]
    band = ds.modalities["audio"].mean(axis=2).argmax(axis=1)  # the loudest mel band rises with the digit
    means = [band[ds.labels == d].mean() for d in range(10)]
    assert np.all(np.diff(means) > 0)
    with pytest.raises(InputError, match="digit"):
        load_avdigits(audio_source="fsdd", fsdd_root=_only(folder, tmp_path / "only3", digit=3))


def _only(src: Path, dst: Path, digit: int) -> Path:
    dst.mkdir()
    for p in src.glob(f"{digit}_*.wav"):
        os.symlink(p, dst / p.name)
    return dst


@pytest.mark.skipif(not REAL.is_dir(), reason="real FSDD recordings not available")
def test_real_fsdd_recordings(tmp_path: Path):
    recs = load_fsdd(REAL, speakers=["george"])
    assert len(recs) == 500 and np.array_equal(np.bincount([r.digit for r in recs]), np.full(10, 50))
    assert all(r.sr == 8000 and 0.1 < len(r.waveform) / r.sr < 2.0 for r in recs)
    sub = tmp_path / "sub"
    sub.mkdir()
    for p in REAL.glob("*.wav"):  # indices 0-7 of every speaker: 400 files
        if int(p.stem.split("_")[2]) < 8:
            os.symlink(p, sub / p.name)
    ds = load_avdigits(n_per_class=40, audio_snr_db=30.0, seed=0, audio_source="fsdd", fsdd_root=sub)
    assert ds.meta["n_recordings"] == 400 and len(ds.meta["speakers"]) == 5
    x, y, who = ds.flat("audio"), ds.labels, ds.row_meta["audio_speaker"]
    test = who == "theo"  # leave one speaker out: recognise digits spoken by an unseen voice
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1)).fit(x[~test], y[~test])
    acc = clf.score(x[test], y[test])
    print(f"real FSDD, unseen speaker, 30 dB: accuracy {acc:.3f}")
    assert acc > 0.6
