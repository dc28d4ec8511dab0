"""A fix that cannot be written never hides the file's findings (issue 18, D1).

``--fix`` on a read-only file: every output format still reports what the file
holds, and says that the fix was not written; the exit code is 2.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import pytest

from helpers import FIXTURES, run_cli

EXAMPLE = FIXTURES / "examples" / "web-01.xml"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def read_only(tmp_path):
    target = tmp_path / "ro.xml"
    shutil.copy(EXAMPLE, target)
    target.chmod(0o444)
    yield target
    target.chmod(0o644)


def lint(*args, cwd):
    return run_cli("--no-config", *args, cwd=cwd)


def codes_of_plain_lint(target: Path) -> list[str]:
    plain = lint("--output-format", "json", target.name, cwd=target.parent)
    return sorted(f["code"] for f in json.loads(plain.stdout))


def test_json_keeps_every_finding_of_a_file_whose_fix_was_not_written(read_only):
    expected = codes_of_plain_lint(read_only)
    assert len(expected) == 3
    result = lint("--fix", "--output-format", "json", read_only.name, cwd=read_only.parent)
    assert result.returncode == 2
    assert sorted(f["code"] for f in json.loads(result.stdout)) == expected
    assert read_only.read_bytes() == EXAMPLE.read_bytes()
    assert "is read-only, so the fix was not written" in result.stderr.decode()


def test_text_reports_the_findings_and_that_the_fix_was_not_written(read_only):
    result = lint("--fix", read_only.name, cwd=read_only.parent)
    out = result.stdout.decode()
    assert result.returncode == 2
    assert out.count("ro.xml:") == 3, out
    summary = out.strip().splitlines()[-1]
    assert "could not be checked" not in summary
    assert "3 findings in 1 file" in summary
    assert "fixes to 1 file could not be written" in summary
    assert "fixed" not in summary.replace("fixes to", ""), "nothing was fixed"


@pytest.mark.parametrize("fmt", ["sarif", "github", "junit", "gitlab", "rdjson", "full"])
def test_every_format_keeps_the_findings(read_only, fmt):
    result = lint("--fix", "--output-format", fmt, read_only.name, cwd=read_only.parent)
    assert result.returncode == 2
    out = result.stdout.decode()
    if fmt == "sarif":
        log = json.loads(out)
        jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)
        run = log["runs"][0]
        assert len(run["results"]) == 3
        (note,) = run["invocations"][0]["toolExecutionNotifications"]
        assert note["descriptor"]["id"] == "fix-not-written"
    elif fmt == "github":
        lines = out.splitlines()
        assert sum(line.startswith(("::error", "::warning", "::notice")) for line in lines) == 4
        assert any("title=domxml-lint%3A fix not written" in line for line in lines)
    elif fmt == "junit":
        case = ElementTree.fromstring(out).find("testsuite/testcase")
        advice = case.find("system-out")
        below_fail_on = advice.text.splitlines() if advice is not None else []
        assert len(case.findall("failure")) + len(below_fail_on) == 3
        assert "fix was not written" in case.find("error").get("message")
    elif fmt == "gitlab":
        checks = [issue["check_name"] for issue in json.loads(out)]
        assert sorted(checks) == ["DX401", "DX404", "DX502", "domxml-lint/fix-not-written"]
    elif fmt == "rdjson":
        codes = [d["code"]["value"] for d in json.loads(out)["diagnostics"]]
        assert sorted(codes) == ["DX401", "DX404", "DX502", "domxml-lint/fix-not-written"]
    else:
        assert out.count("ro.xml:") == 3


def test_a_file_that_could_be_written_is_still_fixed_beside_it(read_only):
    other = read_only.with_name("rw.xml")
    shutil.copy(EXAMPLE, other)
    result = lint("--fix", "--output-format", "json", "ro.xml", "rw.xml", cwd=read_only.parent)
    assert result.returncode == 2
    records = json.loads(result.stdout)
    assert sum(r["filename"] == "ro.xml" for r in records) == 3
    assert sum(r["filename"] == "rw.xml" for r in records) == 2  # DX404 was fixed
    assert other.read_bytes() != EXAMPLE.read_bytes()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_files_written_in_the_background_keep_each_files_findings(tmp_path, jobs):
    # Fixed files are written on a background thread while the next ones are checked, more
    # of them than may wait at once; the read-only ones among them keep every finding.
    names = [f"vm{i:02}.xml" for i in range(40)]
    read_only = {"vm05.xml", "vm23.xml", "vm39.xml"}
    for name in names:
        shutil.copy(EXAMPLE, tmp_path / name)
        if name in read_only:
            (tmp_path / name).chmod(0o444)
    try:
        result = lint("--fix", "--jobs", jobs, "--output-format", "json", *names, cwd=tmp_path)
    finally:
        for name in read_only:
            (tmp_path / name).chmod(0o644)
    assert result.returncode == 2
    records = json.loads(result.stdout)
    for name in names:
        expected = 3 if name in read_only else 2  # DX404 was fixed where it could be written
        assert sum(r["filename"] == name for r in records) == expected, name
        changed = (tmp_path / name).read_bytes() != EXAMPLE.read_bytes()
        assert changed is (name not in read_only), name
    assert result.stderr.decode().count("is read-only, so the fix was not written") == 3
