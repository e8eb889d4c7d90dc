"""`infomm codebook fit / eval / toc`: the command-line contract."""

from __future__ import annotations

import json

from infomm.cli.main import main


def test_eval_prints_both_models_and_json(trained_run, capsys):
    assert main(["codebook", "eval", str(trained_run)]) == 0
    text = capsys.readouterr().out
    for row in (
        "cross-modal accuracy (step) a->b",
        "b->a",
        "code agreement per clip",
        "perplexity",
        "baseline",
    ):
        assert row in text
    assert main(["codebook", "eval", str(trained_run), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    on_disk = json.loads((trained_run / "result.json").read_text())["metrics"]
    assert res["model"] == on_disk and res["baseline"]["cross_accuracy"]["a->b"] <= 0.30


def test_toc_keeps_most_of_the_accuracy_without_retraining(trained_run, capsys):
    assert main(["codebook", "toc", str(trained_run), "--keep", "24", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["channels"]) == 24 and res["channels"] == sorted(res["channels"])
    scores = res["scores"]
    kept_min = min(scores[c] for c in res["channels"])
    assert all(scores[c] <= kept_min for c in range(len(scores)) if c not in res["channels"])
    assert res["full"]["cross_accuracy"]["a->b"] >= 0.60
    assert res["toc"]["cross_accuracy"]["a->b"] >= res["full"]["cross_accuracy"]["a->b"] - 0.10
    assert (trained_run / "toc-keep24.json").exists()


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    for args in (
        ["codebook", "fit", "--data", "nope", "--out", str(tmp_path / "r")],
        ["codebook", "eval", str(tmp_path / "missing")],
        ["codebook", "toc", str(tmp_path), "--keep", "4"],
        ["codebook", "fit", "--clips", "5", "--out", str(tmp_path / "r")],
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
