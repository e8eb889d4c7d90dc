"""`infomm codebook fit / eval / toc`: bad input exits 2 with one line (the commands on a trained run:
``test_codebook_run.py``)."""

from __future__ import annotations

from infomm.cli.main import main


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
