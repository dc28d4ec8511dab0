"""Every input in fuzz/regressions/ passes the fuzzing oracle (fuzz/harness.py).

The directory holds what the fuzzer found (each fixed since) and small hostile
inputs found while hardening; the oracle is the one the fuzzer runs.
"""

from __future__ import annotations

import sys

import pytest
from helpers import REPO

sys.path.insert(0, str(REPO / "fuzz"))
import harness  # noqa: E402

REGRESSIONS = sorted((REPO / "fuzz" / "regressions").iterdir())


def test_there_are_regression_inputs():
    assert REGRESSIONS


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_fuzz_regression(path):
    harness.check(path.read_bytes())


def test_the_oracle_catches_an_internal_error(monkeypatch):
    # A rule that raises must fail the oracle, or the fuzzer would miss every crash.
    from domxml_lint.linter import Linter
    from domxml_lint.plugins import load_ruleset
    from domxml_lint.rule import rule

    @rule(code="TST900", name="always-raises", severity="error", summary="s", triggers=("name",))
    def always_raises(ctx):
        """Raises."""
        raise KeyError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(harness, "_LINTER", [Linter([always_raises], load_ruleset())])
    with pytest.raises(harness.Bug, match="internal error in rule TST900"):
        harness.check(b"<domain type='kvm'><name>x</name></domain>")
