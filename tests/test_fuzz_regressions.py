"""Every input in fuzz/regressions/ passes the fuzzing oracle (fuzz/harness.py).

The directory holds what the fuzzer found and small hostile inputs found while
hardening; the oracle is the one the fuzzer runs. Each input runs in a child
process capped at 1 GiB of address space and 60 s, because some of these
inputs once made a rule allocate without bound: a regression must fail the
test, not take the machine down.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from helpers import REPO

FUZZ = REPO / "fuzz"
REGRESSIONS = sorted((FUZZ / "regressions").iterdir())
MEMORY_LIMIT = 1 << 30

_CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
import harness
with open(sys.argv[2], "rb") as handle:
    harness.check(handle.read())
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def check_in_child(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _CHECK, str(FUZZ), str(path)],
        capture_output=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )


def test_there_are_regression_inputs():
    assert len(REGRESSIONS) >= 5


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_fuzz_regression(path):
    result = check_in_child(path)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]


def test_the_oracle_fails_on_an_internal_error(tmp_path):
    # The oracle must fail when a rule raises, or the fuzzer would miss every crash:
    # the harness's own linter, with a rule that raises, on a real document.
    script = tmp_path / "raising.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(FUZZ)!r})\n"
        "import harness\n"
        "from domxml_lint.linter import Linter\n"
        "from domxml_lint.plugins import load_ruleset\n"
        "from domxml_lint.rule import rule\n"
        "@rule(code='TST900', name='always-raises', severity='error', summary='s',"
        " triggers=('name',))\n"
        "def always_raises(ctx):\n"
        "    raise KeyError('boom')\n"
        "    yield\n"
        "harness._LINTER.append(Linter([always_raises], load_ruleset()))\n"
        "harness.check(b\"<domain type='kvm'><name>x</name></domain>\")\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"internal error in rule TST900" in result.stderr
