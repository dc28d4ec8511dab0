"""The summary line says what was checked and found, in words that cannot be misread
(issue 18, D7)."""

from __future__ import annotations

import shutil

import pytest

from domxml_lint.report import RunSummary, summary_line
from helpers import run_cli
from samples import CLEAN, CORE, NATIVE, UNSAFE, write


def summary(**counts) -> RunSummary:
    base = dict(
        files=0,
        findings=0,
        files_with_findings=0,
        safe_fixable=0,
        unsafe_fixable=0,
        fixed=0,
        errors=0,
        host_rules_skipped=0,
    )
    return RunSummary(**{**base, **counts})


@pytest.mark.parametrize(
    "counts,fixing,dry_run,expected",
    [
        ({"files": 3}, False, False, "No findings in 3 files."),
        (
            {"files": 3, "findings": 3, "files_with_findings": 1, "safe_fixable": 1},
            False,
            False,
            "3 findings in 1 of 3 files (1 fixable with --fix).",
        ),
        (
            {"files": 2, "findings": 2, "files_with_findings": 2, "unsafe_fixable": 2},
            False,
            False,
            "2 findings in 2 files (2 fixable with --fix --unsafe-fixes).",
        ),
        (
            {"files": 3, "findings": 1, "files_with_findings": 1, "unsafe_fixable": 1, "fixed": 2},
            True,
            False,
            "1 finding left in 1 of 3 files (2 fixed; 1 fixable with --unsafe-fixes).",
        ),
        (
            {"files": 3, "findings": 1, "files_with_findings": 1, "unsafe_fixable": 1, "fixed": 2},
            True,
            True,
            "1 finding would be left in 1 of 3 files (2 would be fixed; "
            "1 fixable with --unsafe-fixes).",
        ),
        ({"files": 3, "fixed": 3}, True, False, "No findings left in 3 files (3 fixed)."),
        ({"files": 2}, True, False, "No findings in 2 files."),
        (
            {"files": 2, "domains": 1, "findings": 1, "files_with_findings": 1},
            False,
            False,
            "1 finding in 1 of 1 file and 1 domain.",
        ),
        (
            {"files": 1, "errors": 2, "domain_errors": 1},
            False,
            False,
            "No findings in 1 file (1 file and 1 domain could not be checked).",
        ),
        (
            {"files": 1, "findings": 1, "files_with_findings": 1, "not_written": 1},
            True,
            False,
            "1 finding in 1 file (fixes to 1 file could not be written).",
        ),
    ],
)
def test_summary_wording(counts, fixing, dry_run, expected):
    assert summary_line(summary(**counts), fixing=fixing, dry_run=dry_run) == expected


def last_line(result) -> str:
    return result.stdout.decode().strip().splitlines()[-1]


def test_files_without_findings_count_among_the_files_checked(tmp_path):
    write(tmp_path, "a.xml", NATIVE)
    write(tmp_path, "b.xml", CLEAN)
    write(tmp_path, "c.xml", CLEAN)
    result = run_cli("--no-config", "--select", CORE, str(tmp_path))
    assert last_line(result) == "1 finding in 1 of 3 files (1 fixable with --fix)."


def test_fix_says_what_was_fixed_and_what_needs_unsafe_fixes(tmp_path):
    write(tmp_path, "a.xml", NATIVE)
    write(tmp_path, "b.xml", UNSAFE)
    result = run_cli("--no-config", "--select", CORE, "--fix", str(tmp_path))
    assert last_line(result) == (
        "1 finding left in 1 of 2 files (1 fixed; 1 fixable with --unsafe-fixes)."
    )
    result = run_cli("--no-config", "--select", CORE, "--fix", str(tmp_path))
    assert last_line(result) == "1 finding in 1 of 2 files (1 fixable with --unsafe-fixes)."


def test_diff_speaks_of_what_would_happen(tmp_path):
    write(tmp_path, "a.xml", NATIVE)
    write(tmp_path, "b.xml", UNSAFE)
    result = run_cli("--no-config", "--select", CORE, "--diff", str(tmp_path))
    assert last_line(result) == (
        "1 finding would be left in 1 of 2 files (1 would be fixed; 1 fixable with --unsafe-fixes)."
    )


def test_verbose_says_host_aware_rules_were_skipped_once(tmp_path):
    for index in range(5):
        write(tmp_path, f"vm{index}.xml", CLEAN)
    result = run_cli("--no-config", "--verbose", str(tmp_path))
    stderr = result.stderr.decode()
    assert stderr.count("skipped host-aware rules") == 1, stderr
    assert "skipped host-aware rules on 5 files (no --host): DX" in stderr
    assert "checked 5 files serially" in stderr


def test_copied_file_names_do_not_matter(tmp_path):
    # The summary counts documents, not names: two copies are two files.
    first = write(tmp_path, "a.xml", NATIVE)
    shutil.copy(first, tmp_path / "b.xml")
    result = run_cli("--no-config", "--select", CORE, str(tmp_path))
    assert last_line(result) == "2 findings in 2 files (2 fixable with --fix)."
