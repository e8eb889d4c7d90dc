"""`infomm train` and `infomm train compare`: the command-line contract."""

from __future__ import annotations

import json

from infomm.cli.main import main


def test_train_list_and_bad_method(capsys):
    assert main(["train", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "concat-aux" in listed and "concat " in listed
    assert main(["train", "--method", "nope", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_train_json_writes_run_folder_and_resumes(capsys, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--method", "concat-aux", "--epochs", "2", "--out", str(run), "--snr", "0", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert [h["epoch"] for h in first["history"]] == [1, 2]
    assert first["test"]["accuracy"] > 0.5  # ten digits, chance 0.1
    assert {"metrics.json", "metrics.png", "last.ckpt", "result.json"} <= {p.name for p in run.iterdir()}
    assert main(args[:4] + ["3"] + args[5:]) == 0  # --epochs 3 continues from the checkpoint
    again = json.loads(capsys.readouterr().out)
    assert [h["epoch"] for h in again["history"]] == [1, 2, 3]
    assert again["history"][1] == first["history"][1]


def test_train_compare_table(capsys, tmp_path):
    args = ["train", "compare", "--methods", "concat,concat-aux", "--seeds", "2", "--epochs", "1"]
    assert main(args + ["--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert set(summary) == {"concat", "concat-aux"}
    mean, std = summary["concat"]["accuracy"]
    assert mean > 0.5 and std >= 0.0  # ten digits (chance 0.1): one epoch already learns most of them
    runs = json.loads((tmp_path / "compare.json").read_text())["runs"]["concat"]
    assert mean == sum(r["accuracy"] for r in runs) / 2  # the table is the mean over the seeds' runs
    saved = json.loads((tmp_path / "compare.json").read_text())
    assert len(saved["runs"]["concat-aux"]) == 2
    assert main(["train", "compare", "--methods", "concat,bogus", "--out", str(tmp_path)]) == 2


def test_train_preset(capsys, tmp_path):
    assert main(["train", "--preset", "C", "--epochs", "1", "--out", str(tmp_path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["test"]["accuracy"] > 0.5  # chance is 0.1
    assert main(["train", "--preset", "Z", "--epochs", "1", "--out", str(tmp_path / "z")]) == 2
    assert "unknown AV-digits preset 'Z'" in capsys.readouterr().err


def test_train_with_a_convolutional_encoder(capsys, tmp_path):
    args = [
        "train",
        "--preset",
        "A",
        "--encoder",
        "cnn",
        "--epochs",
        "1",
        "--lr",
        "0.01",
        "--batch-size",
        "128",
    ]
    assert main(args + ["--out", str(tmp_path / "cnn"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["encoder"] == "cnn" and res["test"]["accuracy"] > 0.6  # ten digits, chance 0.1
    assert main(["train", "--encoder", "vit", "--epochs", "1", "--out", str(tmp_path / "vit")]) == 2
    err = capsys.readouterr().err
    assert "encoder='vit' is not known" in err and len(err.strip().splitlines()) == 1
