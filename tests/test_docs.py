"""The user guides in docs/*.md run as written.

For every Markdown file in ``docs/``, its fenced blocks run in document order:

* each ```python block is executed; the blocks of one file share one namespace. Comment
  lines at column 0 right after a line that calls ``print`` are the output the guide shows:
  the block's printed output must match them, text exactly and numbers to within 5 % or
  0.05 (so the guides cannot drift from what the code prints, yet a new BLAS or torch build
  does not break them);
* each line of a ```bash block that starts with ``infomm `` runs through
  :func:`infomm.cli.main.main` (no subprocess) and must exit with code 0; a line that also
  has ``--json`` must print one JSON object with the documented keys.

```console blocks are shown output only and never run. Paths under ``/tmp/infomm-docs`` are
redirected to a fresh temporary folder, so the examples can be pasted into a shell as they
are while the tests write nothing outside pytest's tmp_path.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from infomm.cli.main import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
#: guides that must hold runnable examples (design.md is a map, not a tutorial)
TUTORIALS = ("estimators.md", "data.md", "cli.md", "interactions.md", "training.md", "compression.md")
DOC_TMP = "/tmp/infomm-docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", flags=re.S | re.M)
#: the keys of `infomm mi --json` / `infomm entropy --json` (the contract in docs/cli.md)
JSON_KEYS = {
    "value",
    "unit",
    "quantity",
    "method",
    "n",
    "train_value",
    "heldout_value",
    "flags",
    "details",
    "spread",
}


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, code, first line number) of every fenced block of ``path``, in order."""
    text = path.read_text()
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2) for m in FENCE.finditer(text)]


def shown_output(code: str) -> str:
    """The output a python block claims: column-0 comments that follow a ``print(`` line."""
    shown, after_print = [], False
    for line in code.splitlines():
        if after_print and line.startswith("# "):
            shown.append(line[2:])
            continue
        after_print = "print(" in line
    return "\n".join(shown)


NUMBER = re.compile(r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


def same_output(printed: str, shown: str) -> bool:
    """Equal up to whitespace, with numbers within max(5 %, 0.05) of the shown ones."""
    a, b = NUMBER.split(" ".join(printed.split())), NUMBER.split(" ".join(shown.split()))
    if len(a) != len(b):
        return False
    for i, (p, s) in enumerate(zip(a, b, strict=True)):
        if i % 2 == 0 and p != s:
            return False
        if i % 2 == 1 and abs(float(p) - float(s)) > max(0.05, 0.05 * abs(float(s))):
            return False
    return True


def shell_lines(code: str) -> list[str]:
    """The ``infomm ...`` commands of a bash block (backslash continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("infomm ")]


def test_output_check_reads_comments_after_print_and_catches_drift():
    code = 'x = 1  # not output\nprint("I =", 0.409, "nats")\n# I = 0.41 nats\n\n# a remark, not output\n'
    assert shown_output(code) == "I = 0.41 nats"
    assert same_output("I = 0.409 nats\n", "I = 0.41 nats")
    assert not same_output("I = 0.52 nats\n", "I = 0.41 nats")  # a stale number
    assert not same_output("H = 0.41 nats\n", "I = 0.41 nats")  # stale text
    assert not same_output("I = 0.41 nats 3\n", "I = 0.41 nats")


def test_guides_exist():
    names = {p.name for p in GUIDES}
    assert set(TUTORIALS) <= names


@pytest.fixture
def restore_registries():
    """Undo registrations made by the examples (data.md registers a task in TASKS)."""
    from infomm.data.tasks import TASKS
    from infomm.estimators import ENTROPY_ESTIMATORS, MI_ESTIMATORS

    regs = (TASKS, MI_ESTIMATORS, ENTROPY_ESTIMATORS)
    before = [set(r.names()) for r in regs]
    yield
    for r, names in zip(regs, before, strict=True):
        for name in set(r.names()) - names:
            r.unregister(name)


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_guide_examples_run(path, tmp_path, monkeypatch, capsys, restore_registries):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    ran = 0
    for lang, code, line in blocks(path):
        code = code.replace(DOC_TMP, str(tmp_path / "infomm-docs"))
        if lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)  # noqa: S102
            shown = shown_output(code).replace(DOC_TMP, str(tmp_path / "infomm-docs"))
            if shown:
                assert same_output(buf.getvalue(), shown), (
                    f"{path.name}:{line}: the block printed\n{buf.getvalue()}\nbut the guide shows\n{shown}"
                )
            ran += 1
        elif lang == "bash":
            for command in shell_lines(code):
                capsys.readouterr()
                rc = main(shlex.split(command, comments=True)[1:])
                captured = capsys.readouterr()
                assert rc == 0, f"{path.name}:{line}: `{command}` exited {rc}: {captured.err}"
                if "--json" in command.split() and command.split()[1] in ("mi", "entropy"):
                    obj = json.loads(captured.out)
                    assert set(obj) == JSON_KEYS, f"{path.name}:{line}: keys {sorted(obj)}"
                ran += 1
    assert ran > 0 or path.name not in TUTORIALS, f"{path.name} has no runnable example"


def test_every_estimator_is_documented():
    from infomm.estimators import ENTROPY_ESTIMATORS, MI_ESTIMATORS

    text = (DOCS / "estimators.md").read_text()
    missing = [n for n in MI_ESTIMATORS.names() + ENTROPY_ESTIMATORS.names() if f"`{n}`" not in text]
    assert not missing, f"docs/estimators.md does not mention {missing}"


def test_every_flag_is_documented():
    from infomm.interface import FlagCode

    text = (DOCS / "estimators.md").read_text()
    assert [c.value for c in FlagCode if f"`{c.value}`" not in text] == []


def test_every_task_is_documented():
    from infomm.data.tasks import TASKS

    text = (DOCS / "data.md").read_text()
    assert [n for n in TASKS.names() if f"`{n}`" not in text] == []


def test_every_subcommand_is_documented():
    import typer.main

    from infomm.cli import commands  # noqa: F401  (registers diagnose and data)
    from infomm.cli.main import app

    text = (DOCS / "cli.md").read_text()
    root = typer.main.get_command(app)
    names = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        names += [f"infomm {name} {s}" for s in subs] if subs else [f"infomm {name}"]
    assert [n for n in names if n not in text] == []


def test_json_contract_matches_estimate_to_dict():
    """The keys the guide promises are those Estimate.to_dict writes."""
    from infomm.interface import Estimate

    assert set(Estimate(value=0.0, method="x", n=1).to_dict()) == JSON_KEYS
    text = (DOCS / "cli.md").read_text()
    assert all(f"`{k}`" in text for k in JSON_KEYS)


@pytest.mark.parametrize(
    "argv",
    [
        ["mi", "no-such-file.npy", "no-such-file.npy"],
        ["mi", "--method", "no-such-method", "x.npy", "y.npy"],
        ["entropy"],
    ],
)
def test_documented_exit_code_2_on_bad_input(argv, tmp_path, monkeypatch, capsys):
    """cli.md: bad input exits with 2 and one line on stderr, never a traceback."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((10, 1)))
    np.save(tmp_path / "y.npy", np.zeros((10, 1)))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
