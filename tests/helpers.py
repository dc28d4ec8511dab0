"""Helpers for tests: paths, CI detection, running the CLI, checking minimal diffs."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from domxml_lint.findings import Edit

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "xml"
RULE_FIXTURES = FIXTURES / "rules"
HOSTS = FIXTURES / "hosts"
SHARED = Path(os.environ.get("DOMXML_LINT_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus" / "libvirt"
#: libvirt 10.7's RelaxNG schemas, beside the corpus it validates.
SCHEMAS = CORPUS / "schemas"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: Text that tests want shown in pytest's terminal summary (conftest prints it).
TERMINAL_REPORTS: list[str] = []


def run_cli(
    *args: str,
    cwd: Path | str | None = None,
    input: bytes | None = None,
    timeout: float = 120,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run ``python -m domxml_lint`` in a real subprocess."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.pop("FORCE_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "domxml_lint", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=timeout,
        env=full_env,
    )


def line_ranges_of_edits(data: bytes, edits: Iterable[Edit]) -> list[tuple[int, int]]:
    """0-based, inclusive line ranges of the original that each edit touches."""
    ranges = []
    for edit in edits:
        first = data.count(b"\n", 0, edit.start)
        last = data.count(b"\n", 0, edit.end)
        ranges.append((first, last))
    return ranges


def assert_changes_within(original: bytes, fixed: bytes, edits: Sequence[Edit]) -> None:
    """Every changed line of ``fixed`` lies on a line the edits touched (or is inserted there)."""
    touched = line_ranges_of_edits(original, edits)
    old = original.splitlines(keepends=True)
    new = fixed.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # Lines i1..i2-1 of the original changed (or text was inserted before line i1).
        lo, hi = (i1, i2 - 1) if i2 > i1 else (i1 - 1, i1)
        assert any(first - 1 <= hi and lo <= last + 1 for first, last in touched), (
            f"lines {lo + 1}-{hi + 1} changed but no edit touches them\n"
            + "".join(difflib.unified_diff([x.decode() for x in old], [x.decode() for x in new]))
        )


def require_libvirt():
    """The libvirt module; skips when libvirt-python is missing, except under CI=true."""
    import pytest

    try:
        import libvirt
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but libvirt-python cannot be imported: {exc}")
        pytest.skip(f"libvirt-python is not installed: {exc}")
    return libvirt


def require_virsh() -> str:
    """The path of virsh; skips when it is missing, except under CI=true."""
    import shutil

    import pytest

    virsh = shutil.which("virsh")
    if virsh is None:
        if IN_CI:
            pytest.fail("CI=true but virsh is not installed (apt-get install libvirt-clients)")
        pytest.skip("virsh is not installed")
    return virsh
