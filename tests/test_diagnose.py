"""`infomm diagnose`: the headline job, on a small AV-digits build."""

import json
import math

import pytest

from infomm.cli.main import main
from infomm.data.avdigits import load_avdigits
from infomm.diagnose import diagnose


@pytest.fixture(scope="module")
def small():
    return load_avdigits(n_per_class=40, seed=0)


def test_diagnose_values_obey_information_inequalities(small, tmp_path):
    rep = diagnose(small, tmp_path, pca_dim=4, seeds=2)
    assert rep.label_entropy == pytest.approx(math.log(10))
    for m in ("image", "audio"):
        # 0 <= I(m; label) <= H(label), and well above 0 on this data
        assert 0.5 < rep.label_mi[m].value <= rep.label_entropy + 1e-9
        # the mixture cross-entropy of standardised PCs is at most the Gaussian (max-entropy) value,
        # up to the held-out noise of 120 samples (sd of the mean surprisal ~ 0.15 nats)
        assert rep.entropy[m].value < 0.5 * 4 * math.log(2 * math.pi * math.e) + 0.45
    shared = rep.pair_mi[("image", "audio")]
    assert shared.spread is not None and len(shared.spread.values) == 2
    # paired only through the label: data processing inequality (with estimator slack)
    assert shared.value <= min(rep.label_mi["image"].value, rep.label_mi["audio"].value) + 0.15
    for name in ("report.md", "results.json", "information.png"):
        assert (tmp_path / name).stat().st_size > 100
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["label_mi"]["audio"]["value"] == pytest.approx(rep.label_mi["audio"].value)
    assert "image|audio" in saved["pair_mi"]
    # interactions: the PID invariants, in the saved results and in the per-sample file
    inter = saved["interactions"]["image|audio"]
    assert inter["R"] + inter["U1"] + inter["U2"] + inter["S"] == pytest.approx(inter["I12"], abs=1e-9)
    assert (
        inter["band"][0] - 1e-9 <= inter["R"] <= inter["band"][1] + 1e-9
        or inter["band"][0] > inter["band"][1]
    )
    assert inter["R"] > 0.5  # either modality alone recovers most of the digit
    for name in ("interactions.png", "interactions.npz"):
        assert (tmp_path / name).stat().st_size > 100
    assert "How image (X1) and audio (X2) carry the label" in (tmp_path / "report.md").read_text()


def test_audio_information_falls_with_noise(tmp_path):
    clean = load_avdigits(n_per_class=30, audio_snr_db=20.0, seed=1)
    noisy = load_avdigits(n_per_class=30, audio_snr_db=-15.0, seed=1)
    a = diagnose(clean, tmp_path / "a", pca_dim=4, seeds=2, plots=False)
    b = diagnose(noisy, tmp_path / "b", pca_dim=4, seeds=2, plots=False)
    assert a.label_mi["audio"].value > b.label_mi["audio"].value + 0.3
    # drowning the audio moves label information from redundancy to the image's unique share
    ia, ib = a.interactions[("image", "audio")], b.interactions[("image", "audio")]
    assert ib.U1 > ia.U1 + 0.2 and ib.R < ia.R - 0.2


def test_cli_diagnose_rejects_unknown_dataset(capsys, tmp_path):
    assert main(["diagnose", "--data", "mnist", "--out", str(tmp_path)]) == 2
    assert "not a built-in dataset" in capsys.readouterr().err
