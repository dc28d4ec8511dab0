"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re

from helpers import REPO


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = _code_blocks(readme)
    try_it = next(b for b in blocks if "fixtures/xml/examples" in b).strip().splitlines()[-1]
    tests = next(b for b in blocks if "pytest" in b).strip()
    assert try_it.startswith("pip install . && domxml-lint fixtures/xml/examples")
    assert "domxml-lint fixtures/xml/examples" in ci and "pip install -q ." in ci
    assert tests.replace("pip install", "python -m pip install -q") in ci
