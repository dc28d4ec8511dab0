"""The formats ruff users look for: full, concise, gitlab and rdjson (issue 18)."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import FIXTURES, run_cli
from samples import BOTH, CORE, NATIVE, UNSAFE, disk, domain, write

EXAMPLE = FIXTURES / "examples" / "web-01.xml"


def cli(*args, **kwargs):
    return run_cli("--no-config", "--select", CORE, *args, **kwargs)


# -- concise and text --------------------------------------------------------------------------


def test_text_is_concise(tmp_path):
    write(tmp_path, "vm.xml", BOTH)
    text = cli("vm.xml", cwd=tmp_path)
    concise = cli("--output-format", "concise", "vm.xml", cwd=tmp_path)
    assert text.stdout == concise.stdout and text.returncode == concise.returncode == 1
    assert text.stdout.decode().splitlines()[0].startswith("vm.xml:7:38: DX404 [*] ")


def test_output_format_comes_from_the_config(tmp_path):
    write(tmp_path, "vm.xml", NATIVE)
    (tmp_path / "domxml-lint.toml").write_text('output-format = "full"\n')
    out = run_cli("--select", CORE, "vm.xml", cwd=tmp_path).stdout.decode()
    assert " ^^^" in out
    out = run_cli("--select", CORE, "--output-format", "concise", "vm.xml", cwd=tmp_path)
    assert b"^^^" not in out.stdout


# -- full ------------------------------------------------------------------------------------


def test_full_shows_the_line_with_a_caret_under_the_finding(tmp_path):
    write(tmp_path, "vm.xml", NATIVE)
    out = cli("--output-format", "full", "vm.xml", cwd=tmp_path).stdout.decode()
    assert out == (
        "vm.xml:7:38: DX404 [*] disk 'vda': io='native' with no cache mode: libvirt refuses it "
        "(needs cache='none' or 'directsync') (io-native-needs-direct-cache)\n"
        "  |\n"
        "6 |     <disk type='file' device='disk'>\n"
        "7 |       <driver name='qemu' type='raw' io='native'/>\n"
        "  |                                      ^^^^^^^^^^^ DX404\n"
        "8 |       <source file='/srv/vda.img'/>\n"
        "  |\n"
        "  = fix (safe): Set cache='none'\n"
        "\n"
        "1 finding in 1 file (1 fixable with --fix).\n"
    )


def test_full_aligns_carets_after_tabs_and_wide_line_numbers(tmp_path):
    text = NATIVE.replace("      <driver", "\t\t<driver")
    text = "\n" * 95 + text  # the finding moves to line 102: a three-digit gutter
    write(tmp_path, "vm.xml", text)
    lines = cli("--output-format", "full", "vm.xml", cwd=tmp_path).stdout.decode().splitlines()
    source = next(line for line in lines if line.startswith("102 |"))
    carets = lines[lines.index(source) + 1]
    assert source == "102 | " + "\t\t<driver name='qemu' type='raw' io='native'/>".expandtabs(4)
    assert carets.index("^") == source.index("io='native'")
    assert carets.startswith("    | ") and carets.endswith("^ DX404")


def test_full_escapes_control_characters_in_the_source(tmp_path):
    # U+009B is a terminal's one-character escape sequence opener, and legal in XML.
    text = NATIVE.replace("/srv/vda.img", "/srv/\u009b2Jvda.img")
    write(tmp_path, "vm.xml", text)
    out = cli("--output-format", "full", "vm.xml", cwd=tmp_path).stdout.decode()
    assert "\u009b" not in out and "\\x9b2Jvda.img" in out


def test_full_after_fix_points_into_the_fixed_file(tmp_path):
    # The safe fix removes the unused suppression's line: DX401 moves from line 13 to 12.
    text = domain(
        devices="    <!-- domxml-lint: disable=DX404 -->\n"
        + disk(" cache='none'")
        + disk(" cache='unsafe'", "vdb")
    )
    write(tmp_path, "vm.xml", text)
    out = cli("--output-format", "full", "--fix", "vm.xml", cwd=tmp_path).stdout.decode()
    assert out.startswith("vm.xml:12:38: DX401 ")
    assert "12 |       <driver name='qemu' type='raw' cache='unsafe'/>" in out
    assert "   |                                      ^^^^^^^^^^^^^^ DX401\n" in out


def test_full_with_a_crlf_file_shows_no_carriage_returns(tmp_path):
    path = tmp_path / "vm.xml"
    path.write_bytes(NATIVE.replace("\n", "\r\n").encode())
    out = cli("--output-format", "full", "vm.xml", cwd=tmp_path).stdout
    assert b"\r" not in out and b"^^^^^^^^^^^ DX404" in out


# -- gitlab ----------------------------------------------------------------------------------


def gitlab(*args, cwd):
    result = cli("--output-format", "gitlab", *args, cwd=cwd)
    assert result.returncode in (0, 1, 2), result.stderr
    return json.loads(result.stdout)


def test_gitlab_code_quality_issues(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / "vms", "web.xml", BOTH)
    issues = gitlab("web.xml", cwd=tmp_path / "vms")
    assert [i["check_name"] for i in issues] == ["DX404", "DX401"]
    first = issues[0]
    assert set(first) == {
        "type",
        "description",
        "check_name",
        "fingerprint",
        "severity",
        "location",
    }
    assert first["location"] == {"path": "vms/web.xml", "lines": {"begin": 7, "end": 7}}
    assert first["severity"] == "critical"
    assert first["description"].startswith("DX404 disk 'vda': io='native'")
    assert len({i["fingerprint"] for i in issues}) == 2


def test_gitlab_fingerprints_survive_edits_elsewhere_and_tell_twins_apart(tmp_path):
    write(tmp_path, "vm.xml", NATIVE)
    before = gitlab("vm.xml", cwd=tmp_path)
    write(tmp_path, "vm.xml", "<!-- moved down -->\n" + NATIVE)
    after = gitlab("vm.xml", cwd=tmp_path)
    assert before[0]["location"]["lines"] != after[0]["location"]["lines"]
    assert before[0]["fingerprint"] == after[0]["fingerprint"]
    write(tmp_path, "a.xml", UNSAFE)
    write(tmp_path, "b.xml", UNSAFE)
    both = gitlab("a.xml", "b.xml", cwd=tmp_path)
    assert len({i["fingerprint"] for i in both}) == 2, "same finding in two files"


def test_gitlab_fingerprints_of_identical_findings_differ():
    from domxml_lint.findings import Finding, Severity
    from domxml_lint.output.gitlab import issues
    from domxml_lint.report import FileResult, Run

    finding = Finding("DX401", "disk-cache-unsafe", Severity.ERROR, "m", 3, 1, 3, 2, "/domain")
    run = Run(results=(FileResult("vm.xml", findings=[finding, finding]),))
    first, second = issues(run, "/")
    assert first["fingerprint"] != second["fingerprint"]


def test_gitlab_reports_files_that_could_not_be_checked(tmp_path):
    (tmp_path / "bad.xml").write_text("<domain><name>x</domain>")
    (issue,) = gitlab("bad.xml", cwd=tmp_path)
    assert issue["check_name"] == "domxml-lint/file-not-checked"
    assert issue["severity"] == "blocker" and issue["location"]["path"] == "bad.xml"


# -- rdjson ----------------------------------------------------------------------------------


def rdjson(*args, cwd):
    result = cli("--output-format", "rdjson", *args, cwd=cwd)
    assert result.returncode in (0, 1, 2), result.stderr
    return json.loads(result.stdout)


def offset_of(data: bytes, position: dict) -> int:
    """A reviewdog position (line, UTF-8 byte column) as a byte offset into UTF-8 ``data``."""
    lines = data.split(b"\n")
    return sum(len(line) + 1 for line in lines[: position["line"] - 1]) + position["column"] - 1


def test_rdjson_diagnostics_and_suggestions_that_apply(tmp_path):
    # Non-ASCII before the finding: reviewdog columns count UTF-8 bytes, ours characters.
    text = BOTH.replace("name='qemu' type='raw' io=", "name='qémü' type='raw' io=", 1)
    path = write(tmp_path, "vm.xml", text)
    data = path.read_bytes()
    document = rdjson("vm.xml", cwd=tmp_path)
    assert document["source"]["name"] == "domxml-lint"
    first, second = document["diagnostics"]
    assert first["code"]["value"] == "DX404" and first["severity"] == "ERROR"
    assert first["code"]["url"].endswith("/rules/DX404-io-native-needs-direct-cache.md")
    start = first["location"]["range"]["start"]
    assert data[offset_of(data, start) :].startswith(b"io='native'")
    # Applying every suggestion gives what --fix --unsafe-fixes writes in one pass.
    edits = [
        (offset_of(data, s["range"]["start"]), offset_of(data, s["range"]["end"]), s["text"])
        for d in (first, second)
        for s in d["suggestions"]
    ]
    fixed = data
    for start_offset, end_offset, text_ in sorted(edits, reverse=True):
        fixed = fixed[:start_offset] + text_.encode() + fixed[end_offset:]
    cli("--fix", "--unsafe-fixes", "vm.xml", cwd=tmp_path)
    assert fixed == path.read_bytes()


@pytest.mark.parametrize("fmt", ["gitlab", "rdjson"])
def test_new_machine_formats_have_no_summary_or_colour(tmp_path, fmt):
    write(tmp_path, "vm.xml", BOTH)
    result = cli("--output-format", fmt, "vm.xml", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    json.loads(result.stdout)
    assert b"\x1b[" not in result.stdout and b"finding" not in result.stdout.split(b"\n")[-2]


def test_diff_works_with_every_human_format_only(tmp_path):
    write(tmp_path, "vm.xml", NATIVE)
    for fmt in ("text", "concise", "full"):
        assert cli("--diff", "--output-format", fmt, "vm.xml", cwd=tmp_path).returncode == 1
    refused = cli("--diff", "--output-format", "gitlab", "vm.xml", cwd=tmp_path)
    assert refused.returncode == 2 and b"--diff prints a diff" in refused.stderr
