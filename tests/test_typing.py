"""The rule surface is typed, and mypy (configured in pyproject.toml) passes over src/."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing

import pytest

from domxml_lint.plugins import load_ruleset
from domxml_lint.rule import RuleContext
from helpers import IN_CI, REPO


@pytest.mark.slow
def test_mypy_passes_over_src(tmp_path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but mypy is missing: install the test extra")
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "rule", [r for r in load_ruleset(entry_points=False) if r.origin == "domxml_lint"],
    ids=lambda r: r.code,
)  # fmt: skip
def test_every_builtin_check_is_typed(rule):
    """mypy checks a rule's body against the typed context only when the check is annotated."""
    check = rule.loaded().check
    hints = typing.get_type_hints(check)
    assert hints.get("ctx") is RuleContext, f"{rule.code}: annotate ctx: RuleContext"
    assert "return" in hints, f"{rule.code}: annotate the return type (Iterator[Finding])"
    assert inspect.isgeneratorfunction(check) or hints["return"] is not None
