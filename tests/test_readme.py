"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_install_and_test_commands():
    text = README.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert "infomm diagnose --data avdigits" in blocks[0]
    assert "python -m pytest" in blocks[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci  # CI runs the README's test command


def test_readme_python_examples_run():
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S):
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
