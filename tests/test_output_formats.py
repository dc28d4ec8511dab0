"""The output formats: SARIF (against the official schema), GitHub annotations, JUnit, JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import unquote_to_bytes

import jsonschema
import pytest
from lxml import etree

from domxml_lint.output.github import escape_data, escape_property
from helpers import run_cli
from samples import BOTH, BROKEN, CLEAN, CORE, NATIVE, NATIVE_FIXED, NOT_DOMAIN, UNUSED, write
from test_plugins import install_dist_info

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def cli(*args, **kwargs):
    return run_cli("--no-config", "--select", CORE, *args, **kwargs)


def git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


# -- SARIF ----------------------------------------------------------------------------------


def sarif(*args, **kwargs) -> dict:
    result = cli("--output-format", "sarif", *args, **kwargs)
    assert result.returncode in (0, 1, 2), result.stderr
    log = json.loads(result.stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    return log


def test_sarif_is_valid_and_repository_relative(tmp_path):
    repo = git_repo(tmp_path / "repo")
    write(repo / "guests", "web.xml", BOTH)
    write(repo / "guests", "db.xml", UNUSED)
    log = sarif("guests", cwd=repo / "guests" / "..")
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    located = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert [p["artifactLocation"] for p in located] == [
        {"uri": "guests/db.xml", "uriBaseId": "%SRCROOT%"},
        {"uri": "guests/web.xml", "uriBaseId": "%SRCROOT%"},
        {"uri": "guests/web.xml", "uriBaseId": "%SRCROOT%"},
    ]
    assert located[1]["region"] == {
        "startLine": 7,
        "startColumn": 38,
        "endLine": 7,
        "endColumn": 49,
    }


def test_sarif_paths_from_a_subdirectory_are_still_relative_to_the_repository(tmp_path):
    repo = git_repo(tmp_path / "repo")
    write(repo / "guests", "web.xml", NATIVE)
    log = sarif("web.xml", cwd=repo / "guests")
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "guests/web.xml", "uriBaseId": "%SRCROOT%"}


def test_sarif_root_follows_github_workspace(tmp_path):
    workspace = tmp_path / "ws"
    write(workspace / "vms", "web.xml", NATIVE)
    log = sarif("vms", cwd=workspace, env={"GITHUB_WORKSPACE": str(workspace)})
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.as_uri() + "/"
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "vms/web.xml"
    )


def test_sarif_rules_carry_the_documentation(tmp_path):
    target = write(tmp_path, "web.xml", BOTH)
    run = sarif(str(target), cwd=tmp_path)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["DX001", "DX105", "DX401", "DX404"]
    by_id = {r["id"]: r for r in rules}
    unsafe = by_id["DX401"]
    assert unsafe["shortDescription"]["text"].startswith("Disk cache mode 'unsafe'")
    assert unsafe["fullDescription"]["text"] == (
        "Finds disks whose `<driver>` sets `cache='unsafe'`."
    )
    assert unsafe["help"]["markdown"].startswith("# disk-cache-unsafe (DX401)")
    assert "## Why is this bad?" in unsafe["help"]["markdown"]
    assert "Why is this bad?" in unsafe["help"]["text"] and "##" not in unsafe["help"]["text"]
    assert unsafe["helpUri"].endswith("/rules/DX401-disk-cache-unsafe.md")
    assert unsafe["defaultConfiguration"] == {"level": "error"}
    assert unsafe["properties"]["precision"] == "very-high"
    assert unsafe["properties"]["tags"] == ["disk", "libvirt"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert {r["ruleId"]: r["level"] for r in run["results"]} == {"DX401": "error", "DX404": "error"}


def test_sarif_levels_and_logical_locations(tmp_path):
    target = write(tmp_path, "db.xml", UNUSED)
    result = sarif(str(target), cwd=tmp_path)["runs"][0]["results"][0]
    assert result["level"] == "warning"
    assert result["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "comment()", "kind": "element"}
    ]


def test_sarif_fixes_rebuild_the_fixed_file(tmp_path):
    target = write(tmp_path, "web.xml", NATIVE)
    result = sarif(str(target), cwd=tmp_path)["runs"][0]["results"][0]
    (fix,) = result["fixes"]
    assert fix["description"]["text"] == "Set cache='none' (safe)"
    data = target.read_bytes()
    for replacement in sorted(
        fix["artifactChanges"][0]["replacements"],
        key=lambda r: r["deletedRegion"]["byteOffset"],
        reverse=True,
    ):
        start = replacement["deletedRegion"]["byteOffset"]
        end = start + replacement["deletedRegion"]["byteLength"]
        data = data[:start] + replacement["insertedContent"]["text"].encode() + data[end:]
    assert data.decode() == NATIVE_FIXED


def test_sarif_reports_unreadable_files_as_notifications(tmp_path):
    write(tmp_path, "bad.xml", BROKEN)
    write(tmp_path, "net.xml", NOT_DOMAIN)
    log = sarif(str(tmp_path), cwd=tmp_path)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "not well-formed XML" in note["message"]["text"]
    location = note["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "bad.xml"
    assert location["region"]["startLine"] == 2


def test_sarif_outside_the_root_uses_absolute_uris(tmp_path):
    repo = git_repo(tmp_path / "repo")
    outside = write(tmp_path / "elsewhere", "vm.xml", NATIVE)
    log = sarif(str(outside), cwd=repo)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": outside.as_uri()}


def test_sarif_clean_run_is_valid(tmp_path):
    target = write(tmp_path, "ok.xml", CLEAN)
    run = sarif(str(target), cwd=tmp_path)["runs"][0]
    assert run["results"] == [] and run["invocations"][0]["executionSuccessful"] is True


# -- GitHub Actions annotations ----------------------------------------------------------------

ODD_PLUGIN = '''
from domxml_lint import hookimpl, rule


@rule(code="ODD001", name="odd-message", severity="info", summary="odd", triggers=("name",))
def odd(ctx):
    """
    ## What it does
    Says odd things.
    """
    yield ctx.finding(ctx.facts.root.find("name"), "100% odd\\nsecond: line, here\\r")


@hookimpl
def domxml_lint_rules():
    return [odd]
'''


def test_github_annotation_format(tmp_path):
    target = write(tmp_path, "web.xml", BOTH)
    result = cli("--output-format", "github", "web.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines() == [
        "::error file=web.xml,line=7,col=38,endLine=7,endColumn=49,"
        "title=DX404 io-native-needs-direct-cache::disk 'vda': io='native' with no cache mode: "
        "libvirt refuses it (needs cache='none' or 'directsync')",
        "::error file=web.xml,line=12,col=38,endLine=12,endColumn=52,"
        "title=DX401 disk-cache-unsafe::disk 'vdb' uses cache='unsafe': guest flushes are "
        "ignored and data is lost if the host crashes",
    ]
    assert target.exists()


def test_github_escaping_and_notice_level(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "odd_rules", ODD_PLUGIN)
    write(tmp_path, "a,b:c%.xml", CLEAN)
    write(tmp_path, "warn.xml", UNUSED)
    result = run_cli(
        "--no-config",
        "--select",
        "ODD001,DX001,DX401",
        "--output-format",
        "github",
        ".",
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    lines = result.stdout.decode().splitlines()
    assert lines[0] == (
        "::notice file=a%2Cb%3Ac%25.xml,line=2,col=3,endLine=2,endColumn=9,"
        "title=ODD001 odd-message::100%25 odd%0Asecond: line, here%0D"
    )
    assert lines[1].startswith("::notice file=warn.xml,")
    assert lines[2].startswith("::warning file=warn.xml,line=6,col=5,")
    assert "title=DX001 unused-suppression::unused suppression" in lines[2]


def test_github_escape_functions():
    assert escape_data("50%\r\n: ,") == "50%25%0D%0A: ,"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_reports_errors_as_annotations(tmp_path):
    write(tmp_path, "bad.xml", BROKEN)
    result = cli("--output-format", "github", "bad.xml", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stdout.decode().splitlines()
    assert line.startswith("::error file=bad.xml,line=2,col=")
    assert "title=domxml-lint%3A file not checked::not well-formed XML" in line


# -- JUnit ----------------------------------------------------------------------------------


def junit(*args, **kwargs) -> etree._Element:
    result = cli("--output-format", "junit", *args, **kwargs)
    assert result.stdout.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return etree.fromstring(result.stdout)


def test_junit_one_testcase_per_file_one_failure_per_finding(tmp_path):
    write(tmp_path, "a-web.xml", BOTH)
    write(tmp_path, "b-ok.xml", CLEAN)
    write(tmp_path, "c-bad.xml", BROKEN)
    write(tmp_path, "d-net.xml", NOT_DOMAIN)
    root = junit(".", cwd=tmp_path)
    suite = root.find("testsuite")
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "4",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
    }
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert sorted(cases) == ["./a-web.xml", "./b-ok.xml", "./c-bad.xml", "./d-net.xml"]
    failures = cases["./a-web.xml"].findall("failure")
    assert [f.get("message") for f in failures] == [
        "DX404 io-native-needs-direct-cache: disk 'vda': io='native' with no cache mode: "
        "libvirt refuses it (needs cache='none' or 'directsync')",
        "DX401 disk-cache-unsafe: disk 'vdb' uses cache='unsafe': guest flushes are ignored "
        "and data is lost if the host crashes",
    ]
    assert failures[0].text.startswith("./a-web.xml:7:38: DX404 ")
    assert failures[0].text.endswith("/rules/DX404-io-native-needs-direct-cache.md")
    assert len(cases["./b-ok.xml"]) == 0
    assert "not well-formed" in cases["./c-bad.xml"].find("error").get("message")
    assert cases["./d-net.xml"].find("skipped").get("message") == (
        "root element is <network>, not <domain>"
    )


def test_junit_findings_below_fail_on_do_not_fail(tmp_path):
    write(tmp_path, "warn.xml", UNUSED)
    root = junit("--fail-on", "error", "warn.xml", cwd=tmp_path)
    case = root.find("testsuite/testcase")
    assert case.find("failure") is None and root.get("failures") == "0"
    assert "DX001" in case.find("system-out").text


# -- JSON -----------------------------------------------------------------------------------


def test_json_has_urls_and_applicable_edits(tmp_path):
    target = write(tmp_path, "web.xml", BOTH)
    records = json.loads(cli("--output-format", "json", str(target)).stdout)
    assert [r["code"] for r in records] == ["DX404", "DX401"]
    assert records[0]["url"] == (
        "https://github.com/domxml-lint/domxml-lint/blob/main/rules/"
        "DX404-io-native-needs-direct-cache.md"
    )
    native_fix = records[0]["fix"]
    assert native_fix["applicability"] == "safe" and native_fix["applies"] is True
    assert records[1]["fix"]["applies"] is False, "unsafe, and --unsafe-fixes not given"
    data = target.read_bytes()
    (edit,) = native_fix["edits"]
    fixed = data[: edit["start"]] + edit["content"].encode() + data[edit["end"] :]
    assert b"io='native' cache='none'" in fixed


def test_json_url_is_null_for_plugin_rules(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "odd_rules", ODD_PLUGIN)
    write(tmp_path, "vm.xml", CLEAN)
    result = run_cli(
        "--no-config",
        "--select",
        "ODD001",
        "--output-format",
        "json",
        ".",
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    (record,) = json.loads(result.stdout)
    assert record["code"] == "ODD001" and record["url"] is None and record["severity"] == "info"


def test_a_plugin_rule_with_a_url_links_to_it_in_every_format(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    url = "https://acme.example/rules/ODD001"
    source = ODD_PLUGIN.replace('triggers=("name",)', f'triggers=("name",), url="{url}"')
    install_dist_info(site, "odd_rules", source)
    write(tmp_path, "vm.xml", CLEAN)

    def run(fmt: str) -> bytes:
        return run_cli(
            "--no-config", "--select", "ODD001", "--fail-on", "info", "--output-format", fmt, ".",
            cwd=tmp_path, env={"PYTHONPATH": str(site)},
        ).stdout  # fmt: skip

    assert json.loads(run("json"))[0]["url"] == url
    (descriptor,) = json.loads(run("sarif"))["runs"][0]["tool"]["driver"]["rules"]
    assert descriptor["helpUri"] == url
    (failure,) = etree.fromstring(run("junit")).iter("failure")
    assert failure.text.endswith(f"see {url}")


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit"])
def test_machine_formats_have_no_summary_or_colour(tmp_path, fmt):
    target = write(tmp_path, "vm.xml", NATIVE)
    result = cli("--output-format", fmt, str(target), env={"FORCE_COLOR": "1"})
    assert b"\x1b[" not in result.stdout and b"findings in" not in result.stdout


# -- file names that are not plain text -----------------------------------------------------

ODD_NAMES = [b"esc\x1bape.xml", b"latin-\xe9.xml", "caf\u00e9-\u865a\u62df.xml".encode()]


@pytest.fixture
def odd_names(tmp_path):
    """Legal POSIX file names: a control character, a byte that is not UTF-8, and UTF-8."""
    for name in ODD_NAMES:
        Path(os.fsdecode(tmp_path / os.fsdecode(name))).write_text(NATIVE)
    return tmp_path


def test_json_holds_any_file_name_and_stays_valid_utf8(odd_names):
    result = cli("--output-format", "json", ".", cwd=odd_names)
    assert result.returncode == 1, result.stderr
    result.stdout.decode("utf-8")  # strict: no raw undecodable byte leaked
    names = {os.fsencode(record["filename"]) for record in json.loads(result.stdout)}
    assert names == {b"./" + name for name in ODD_NAMES}
    assert "\u865a\u62df".encode() in result.stdout  # non-ASCII stays readable


def test_sarif_holds_any_file_name(odd_names):
    log = sarif(".", cwd=odd_names)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"esc%1Bape.xml", "latin-%E9.xml", "caf%C3%A9-%E8%99%9A%E6%8B%9F.xml"}
    assert {unquote_to_bytes(uri) for uri in uris} == set(ODD_NAMES)


def test_junit_holds_any_file_name(odd_names):
    suites = junit(".", cwd=odd_names)
    names = sorted(case.get("name") for case in suites.iter("testcase"))
    assert names == ["./caf\u00e9-\u865a\u62df.xml", "./esc\\x1bape.xml", "./latin-\\xe9.xml"]
    assert all(f.text.startswith(f"{c.get('name')}:") for c in suites.iter("testcase") for f in c)
