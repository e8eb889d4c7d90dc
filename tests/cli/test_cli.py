"""The `infomm` command, called in-process through `main(argv)`."""

import json
import math

import numpy as np
import pytest

from infomm.cli.main import main


@pytest.fixture
def gauss_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 1))
    y = 0.75 * x + math.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path / "x.npy", tmp_path / "y.npy"


def run_json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_mi_json_contract(gauss_files, capsys):
    x, y = gauss_files
    d = run_json(capsys, ["mi", str(x), str(y), "--method", "ksg", "--json"])
    assert {"value", "unit", "method", "n", "flags"} <= set(d)
    assert d["unit"] == "nats" and d["method"] == "ksg" and d["n"] == 2000
    assert abs(d["value"] - 0.4133) < 0.05
    bits = run_json(capsys, ["mi", str(x), str(y), "--method", "ksg", "--json", "--bits"])
    assert bits["unit"] == "bits" and bits["value"] == pytest.approx(d["value"] / math.log(2))


def test_mi_options_seed_and_spread(gauss_files, capsys):
    x, y = gauss_files
    d = run_json(
        capsys,
        [
            "mi",
            str(x),
            str(y),
            "-m",
            "infonce",
            "--json",
            "-o",
            "max_epochs=5",
            "--seed",
            "2",
            "--spread",
            "seeds",
            "--repeats",
            "2",
        ],
    )
    assert d["method"] == "infonce" and d["spread"]["kind"] == "seeds" and len(d["spread"]["values"]) == 2
    values = d["spread"]["values"]
    assert values[0] == pytest.approx(d["value"]) and values[0] != values[1]  # --seed 2 first, then seed 3
    assert abs(d["value"] - 0.4133) < 0.15


def test_mi_readable_output_and_list(gauss_files, capsys):
    x, y = gauss_files
    assert main(["mi", str(x), str(y), "--method", "gaussian"]) == 0
    assert "0.40" in capsys.readouterr().out  # Gaussian MI of these 2000 samples: 0.4074
    assert main(["mi", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in ("ksg", "smile", "infonce", "mine", "auto"):
        assert name in listing


def test_entropy_json(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(3000, 2))
    np.save(tmp_path / "x.npy", x)
    d = run_json(capsys, ["entropy", str(tmp_path / "x.npy"), "--json"])
    assert abs(d["value"] - math.log(2 * math.pi * math.e)) < 0.08 and d["quantity"] == "entropy"


def bad_inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.normal(size=(100, 2)))
    np.save(tmp_path / "b.npy", rng.normal(size=(90, 2)))
    nan = rng.normal(size=(100, 2))
    nan[5, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "cube.npy", rng.normal(size=(100, 2, 2)))
    np.save(tmp_path / "tiny.npy", rng.normal(size=(3, 2)))
    (tmp_path / "text.csv").write_text("a,b\n1,x\n2,3\n")
    (tmp_path / "corrupt.npy").write_bytes(b"not an npy file")
    return {
        "different row counts": (["a.npy", "b.npy"], "100 rows but Y has 90"),
        "nan": (["nan.npy", "a.npy"], "non-finite"),
        "3-D": (["cube.npy", "a.npy"], "3-D"),
        "too few samples": (["tiny.npy", "tiny.npy"], "at least"),
        "non-numeric csv": (["text.csv", "a.npy"], "not a number"),
        "missing file": (["missing.npy", "a.npy"], "does not exist"),
        "corrupt": (["corrupt.npy", "a.npy"], "corrupt"),
    }


def test_bad_input_exit_code_2_and_one_clear_line(tmp_path, capsys):
    for case, (files, message) in bad_inputs(tmp_path).items():
        code = main(["mi", *[str(tmp_path / f) for f in files], "--method", "ksg"])
        err = capsys.readouterr().err
        assert code == 2, case
        assert message in err, (case, err)
        assert "Traceback" not in err


def test_unknown_method_and_bad_option(gauss_files, capsys):
    x, y = gauss_files
    assert main(["mi", str(x), str(y), "--method", "nope"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["mi", str(x), str(y), "-m", "smile", "-o", "hiden=3"]) == 2
    assert "unknown option" in capsys.readouterr().err
    assert main(["mi", str(x)]) == 2


def test_help_for_every_subcommand(capsys):
    for sub in ("mi", "entropy", "diagnose", "data"):
        assert main([sub, "--help"]) == 0
        assert "Usage" in capsys.readouterr().out


def test_data_sample_writes_task_and_truth(tmp_path, capsys):
    assert main(["data", "sample", "gauss-2pair-5x5", "--n", "500", "--out", str(tmp_path)]) == 0
    assert "1.02" in capsys.readouterr().out
    assert np.load(tmp_path / "x.npy").shape == (500, 5)


def test_usage_errors_exit_2_without_traceback(gauss_files, capsys):
    x, y = gauss_files
    for argv in (
        ["mi", str(x), str(y), "--bogus"],
        ["nosuch"],
        ["mi", str(x), str(y), "-m", "ksg", "-o", "bogus=1"],
    ):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
    assert main(["mi", str(x), str(y), "-m", "ksg", "-o", "bogus=1"]) == 2
    assert "known options: k, variant" in capsys.readouterr().err


def test_data_list_and_export(tmp_path, capsys):
    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "gauss-2pair-5x5" in listing and "1.0217" in listing and "avdigits" in listing
    assert main(["data", "export", "avdigits", "--out", str(tmp_path), "--snr", "5"]) == 0
    assert "wrote image, audio, labels" in capsys.readouterr().out
    image, audio, labels = (np.load(tmp_path / f"{k}.npy") for k in ("image", "audio", "labels"))
    assert image.shape == (1797, 64) and audio.shape == (1797, 40 * 32) and labels.shape == (1797,)
    # the exported files feed `infomm mi` directly: the label bound is at most H(label) = log 10
    d = run_json(
        capsys,
        ["mi", str(tmp_path / "image.npy"), str(tmp_path / "labels.npy"), "-m", "classifier", "--json"],
    )
    assert 1.5 < d["value"] <= math.log(10) + 1e-9 and d["flags"] == []


def test_bench_quick_writes_results(tmp_path, capsys):
    assert main(["bench", "--out", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "estimators.json").read_text())
    assert saved["mi"] == data["mi"] and (tmp_path / "estimators.md").stat().st_size > 200
    assert data["mi"] and data["entropy"]
    for row in data["mi"] + data["entropy"]:  # the error column is estimate - truth, as the table says
        assert abs(row["error"] - (row["estimate"] - row["truth"])) < 1e-9
        assert row["estimate"] == pytest.approx(sum(row["values"]) / len(row["values"]))
