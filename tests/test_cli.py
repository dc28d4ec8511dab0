"""The command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil

from domxml_lint.plugins import load_ruleset
from helpers import RULE_FIXTURES, run_cli
from samples import CORE


def host_note() -> str:
    """The summary's note on host-aware default rules that did not run."""
    count = sum(1 for r in load_ruleset() if r.default and r.needs_host)
    return f"{count} host-aware rule{'' if count == 1 else 's'} skipped: no --host"


UNSAFE = RULE_FIXTURES / "disk-cache-unsafe" / "trigger.xml"
NATIVE = RULE_FIXTURES / "io-native-needs-direct-cache" / "trigger-tabs.xml"
CLEAN = RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"


def lint(*args, **kwargs):
    """The CLI with the core rules pinned, so that rules added later change nothing here."""
    return run_cli("--select", CORE, *args, **kwargs)


def test_text_output_and_exit_1(tmp_path):
    result = lint(str(NATIVE))
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0] == (
        f"{NATIVE}:6:35: DX404 [*] disk 'vda': io='native' with no cache mode: libvirt refuses "
        "it (needs cache='none' or 'directsync') (io-native-needs-direct-cache)"
    )
    assert lines[-1] == "2 findings in 1 file (2 fixable with --fix)."


def test_clean_file_exits_0():
    result = lint(str(CLEAN))
    assert result.returncode == 0, result.stdout
    assert result.stdout.decode().strip() == "No findings in 1 file."


def test_summary_counts_host_aware_rules_skipped():
    result = run_cli(str(CLEAN))
    assert result.stdout.decode().splitlines()[-1] == f"No findings in 1 file ({host_note()})."


def test_fix_writes_only_changed_files(tmp_path):
    bad, good = tmp_path / "bad.xml", tmp_path / "good.xml"
    shutil.copy(NATIVE, bad)
    shutil.copy(CLEAN, good)
    os.utime(good, ns=(1_000_000_000, 1_000_000_000))
    result = lint("--fix", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert bad.read_bytes() == NATIVE.with_name("trigger-tabs.fixed.xml").read_bytes()
    assert good.stat().st_mtime_ns == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xml", "good.xml"]
    again = lint("--fix", str(tmp_path))
    assert (
        again.returncode == 0
        and bad.read_bytes() == NATIVE.with_name("trigger-tabs.fixed.xml").read_bytes()
    )


def test_unsafe_fixes_need_the_flag(tmp_path):
    target = tmp_path / "u.xml"
    shutil.copy(UNSAFE, target)
    result = lint("--fix", str(target))
    assert result.returncode == 1 and target.read_bytes() == UNSAFE.read_bytes()
    assert b"1 fixable with --unsafe-fixes" in result.stdout
    result = lint("--fix", "--unsafe-fixes", str(target))
    assert result.returncode == 0
    assert target.read_bytes() == UNSAFE.with_name("trigger.fixed.xml").read_bytes()


def test_diff_writes_nothing_and_exits_1(tmp_path):
    target = tmp_path / "n.xml"
    shutil.copy(NATIVE, target)
    result = lint("--diff", str(target))
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.startswith(f"--- a/{str(target).lstrip('/')}\n+++ b/")
    assert '+\t\t\t<driver name="qemu" type="raw" io="native" cache="none"/>' in out
    assert target.read_bytes() == NATIVE.read_bytes()


def test_json_output():
    result = lint("--output-format", "json", str(UNSAFE))
    records = json.loads(result.stdout)
    assert len(records) == 1
    record = records[0]
    assert {
        k: record[k]
        for k in ("code", "name", "severity", "line", "column", "end_line", "end_column")
    } == {
        "code": "DX401",
        "name": "disk-cache-unsafe",
        "severity": "error",
        "line": 11,
        "column": 40,
        "end_line": 11,
        "end_column": 54,
    }
    assert record["filename"] == str(UNSAFE)
    assert (
        record["fix"]["applicability"] == "unsafe"
        and record["fix"]["message"] == "Set cache='none'"
    )


def test_non_domain_xml_is_skipped_silently(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><modelVersion>4.0.0</modelVersion></project>")
    (tmp_path / "net.xml").write_text("<network><name>default</name></network>")
    result = lint(str(tmp_path))
    assert result.returncode == 0 and result.stderr == b""


def test_bad_file_does_not_stop_the_batch(tmp_path):
    (tmp_path / "a-broken.xml").write_text("<domain><name>x</domain>")
    shutil.copy(UNSAFE, tmp_path / "b.xml")
    result = lint(str(tmp_path), str(tmp_path / "missing.xml"))
    assert result.returncode == 2
    assert b"DX401" in result.stdout
    err = result.stderr.decode()
    assert f"{tmp_path / 'a-broken.xml'}:1:" in err and "not well-formed XML" in err
    assert f"{tmp_path / 'missing.xml'}: no such file or directory" in err


def test_usage_errors_exit_2():
    result = run_cli("--select", "DX4O1", str(CLEAN))
    assert result.returncode == 2 and b"did you mean" in result.stderr
    assert run_cli().returncode == 2


def test_python_dash_m_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith(b"domxml-lint ")


def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path):
    # The command exits through os._exit after flushing; a closed pipe must still give one
    # quiet exit 2, not Python's "Exception ignored ... BrokenPipeError" at shutdown.
    import subprocess

    from processes import cli_command

    for index in range(300):  # ~200 KB of findings, more than a pipe holds
        shutil.copy(NATIVE, tmp_path / f"vm{index:03d}.xml")
    process = subprocess.Popen(
        cli_command("--no-config", str(tmp_path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout.read(100)
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=60) == 2
    assert err == b""


def test_the_command_prints_and_exits_as_main_returns(tmp_path, capsys):
    # The command skips the interpreter's teardown: its output and status must be exactly
    # what main() prints and returns in process.
    from domxml_lint.cli import main

    for path, status in ((NATIVE, 1), (CLEAN, 0)):
        args = ["--no-config", "--statistics", "--show-fixes", str(path)]
        assert main(args) == status
        expected = capsys.readouterr().out
        result = run_cli(*args)
        assert (result.returncode, result.stdout.decode()) == (status, expected)


def test_values_from_the_xml_cannot_forge_output_lines(tmp_path):
    # An attribute may hold a newline (&#10;) or a C1 control (U+009B, a terminal CSI):
    # quoted in a message, they would start a new line, a GitHub workflow command
    # ("::error ...") or an escape sequence. Text output shows them escaped.
    from samples import disk, domain, write

    sneaky = "vda&#10;::error file=x::forged&#x9b;2J&#13;"
    path = write(tmp_path, "vm.xml", domain(devices=disk(" cache='unsafe'", sneaky)))
    for env in ({}, {"FORCE_COLOR": "1"}):
        result = run_cli("--no-config", "--select", "DX401", "--show-fixes", str(path), env=env)
        assert result.returncode == 1, result.stderr
        out = result.stdout.decode()
        lines = out.splitlines()
        assert len(lines) == 3, out  # the finding, its fix, the summary
        assert not any(line.startswith("::") for line in lines)
        assert "\\n::error file=x::forged\\x9b2J\\r" in lines[0]
        assert "\x9b" not in out and "\r" not in out
    # A file name with a newline, in an error line on stderr.
    odd = tmp_path / "odd\n::warning::name.xml"
    odd.write_bytes(b"<domain")
    result = run_cli("--no-config", str(odd))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert len(err.splitlines()) == 1 and "odd\\n::warning::name.xml" in err
