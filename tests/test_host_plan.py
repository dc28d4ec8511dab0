"""The whole host: plan rules over every guest of a host, through the command line.

Guests are real files; hosts are real snapshots: fixtures/xml/hosts/test-default.xml
(libvirt's test driver, captured with `domxml-lint host snapshot`), epyc-2node.xml
(assembled from libvirt's own test data) and, where libvirt is installed, a snapshot
taken here and now from test:///default, with this machine's system facts.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import textwrap
from pathlib import Path

import pytest

from domxml_lint import lint_host, load_host
from domxml_lint.findings import Related
from domxml_lint.report import FileResult
from helpers import HOSTS, REPO, require_virsh, run_cli
from samples import domain
from test_plugins import install_dist_info

TEST_DEFAULT = HOSTS / "test-default.xml"
EPYC = HOSTS / "epyc-2node.xml"
IMAGE = "/var/lib/libvirt/images/shared.qcow2"


def disk(path: str, extra: str = "") -> str:
    return (
        "    <disk type='file' device='disk'>\n"
        "      <driver name='qemu' type='qcow2' cache='none'/>\n"
        f"      <source file='{path}'/>\n"
        f"      <target dev='vda' bus='virtio'/>{extra}\n"
        "    </disk>"
    )


def hostdev(bus: str) -> str:
    return (
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "      <source>\n"
        f"        <address domain='0x0000' bus='{bus}' slot='0x00' function='0x0'/>\n"
        "      </source>\n"
        "    </hostdev>"
    )


PINNED = (
    "  <cputune>\n"
    "    <vcpupin vcpu='0' cpuset='4'/>\n"
    "    <vcpupin vcpu='1' cpuset='5'/>\n"
    "  </cputune>"
)

#: What each pair shares, and the rule that must say so in both files.
SHARED = {
    "image": (
        "DX413",
        {"devices": disk(IMAGE)},
        {"devices": disk(IMAGE)},
    ),
    "hostdev": (
        "DX014",
        {"devices": hostdev("0x41")},
        {"devices": hostdev("0x41")},
    ),
    "pinned-cpus": (
        "DX119",
        {"body": PINNED},
        {"vcpu": "<vcpu cpuset='4-7'>2</vcpu>"},
    ),
}


def guests(directory: Path, first: dict, second: dict) -> list[Path]:
    paths = []
    for name, extra in (("web-01", first), ("web-02", second)):
        path = directory / f"{name}.xml"
        path.write_text(domain(name=name, **extra))
        paths.append(path)
    return paths


def records(result) -> list[dict]:
    assert result.returncode in (0, 1), result.stderr.decode()
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def live_snapshot(tmp_path_factory) -> Path:
    """A snapshot taken now from libvirt's test driver, with this machine's system facts."""
    require_virsh()
    path = tmp_path_factory.mktemp("snapshot") / "test-default-now.xml"
    done = run_cli("host", "snapshot", "--connect", "test:///default", "-o", str(path))
    assert done.returncode == 0, done.stderr.decode()
    return path


@pytest.mark.parametrize("shared", sorted(SHARED))
@pytest.mark.parametrize("snapshot", ["captured", "taken-now"])
def test_a_pair_that_shares_something_is_reported_in_both_files(
    tmp_path, shared, snapshot, request
):
    host = TEST_DEFAULT if snapshot == "captured" else request.getfixturevalue("live_snapshot")
    code, first, second = SHARED[shared]
    paths = guests(tmp_path, first, second)
    result = run_cli("--host", str(host), "--output-format", "json", *map(str, paths))
    found = [r for r in records(result) if r["code"] == code]
    assert sorted(Path(r["filename"]).name for r in found) == ["web-01.xml", "web-02.xml"]
    for record in found:
        other = next(p for p in paths if p.name != Path(record["filename"]).name)
        assert [Path(r["filename"]) for r in record["related"]] == [other]
        assert record["related"][0]["line"] > 1


@pytest.mark.parametrize("snapshot", ["captured", "taken-now"])
def test_a_pair_that_shares_nothing_is_not_reported(tmp_path, snapshot, request):
    host = TEST_DEFAULT if snapshot == "captured" else request.getfixturevalue("live_snapshot")
    paths = guests(
        tmp_path,
        {"body": PINNED, "devices": disk("/srv/a.qcow2") + "\n" + hostdev("0x41")},
        {
            "vcpu": "<vcpu cpuset='8-9'>2</vcpu>",
            "devices": disk("/srv/b.qcow2") + "\n" + hostdev("0xc2"),
        },
    )
    result = run_cli("--host", str(host), "--output-format", "json", *map(str, paths))
    plan_codes = {"DX014", "DX015", "DX016", "DX017", "DX119", "DX120", "DX413", "DX509"}
    assert not [r for r in records(result) if r["code"] in plan_codes]


def test_text_shows_see_also_and_the_summary_counts_the_host(tmp_path):
    paths = guests(tmp_path, {"devices": disk(IMAGE)}, {"devices": disk(IMAGE)})
    result = run_cli("--host", str(TEST_DEFAULT), "--select", "DX413", *map(str, paths))
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith(f"{paths[0]}:8:7: DX413 disk 'vda' writes {IMAGE}, which guest ")
    assert lines[1] == f"    see also: {paths[1]}:8:7: disk 'vda' of guest 'web-02' writes it"
    assert lines[-1] == "2 findings in 2 files."


def test_sarif_has_related_locations(tmp_path):
    paths = guests(tmp_path, {"devices": hostdev("0x41")}, {"devices": hostdev("0x41")})
    result = run_cli(
        "--host",
        str(TEST_DEFAULT),
        "--select",
        "DX014",
        "--output-format",
        "sarif",
        *map(str, paths),
    )
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["DX014", "DX014"]
    related = results[0]["relatedLocations"][0]
    assert related["id"] == 1 and "assigns it too" in related["message"]["text"]
    assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("web-02.xml")
    assert related["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 5}


def test_host_findings_are_located_in_the_snapshot(tmp_path):
    paths = guests(tmp_path, {"vcpu": "<vcpu>24</vcpu>"}, {"vcpu": "<vcpu>24</vcpu>"})
    result = run_cli("--host", str(EPYC), "--select", "DX118", *map(str, paths))
    assert result.returncode == 1
    out = result.stdout.decode().splitlines()
    shown = EPYC.relative_to(REPO)  # the CLI runs in the repository: relative to it
    assert out[0].startswith(f"{shown}:49:5: DX118 the 2 guests of this host have 48 vCPUs")
    assert out[1].startswith(f"    see also: {paths[0]}:4:3: guest 'web-01': 24 vCPUs")
    assert out[-1] == "1 finding in 1 of 2 files and 1 host."


def test_files_without_a_host_form_no_plan_and_verbose_says_so(tmp_path):
    paths = guests(tmp_path, {"devices": disk(IMAGE)}, {"devices": disk(IMAGE)})
    quiet = run_cli("--select", "DX413", *map(str, paths))
    assert quiet.returncode == 0 and b"DX413" not in quiet.stdout
    verbose = run_cli("-v", "--select", "DX413", *map(str, paths))
    assert (
        b"domxml-lint: no host plan for 2 documents without a host snapshot: plan rules DX413 "
        b"need one (--host)\n" in verbose.stderr
    )
    hosted = run_cli("-v", "--select", "DX413", "--host", str(TEST_DEFAULT), *map(str, paths))
    assert b"domxml-lint: host plan " in hosted.stderr and b": 2 guests; plan rules run: DX413" in (
        hosted.stderr
    )


def test_files_of_two_hosts_form_two_plans(tmp_path):
    """The config of each directory names its host: the same image in both is no conflict."""
    for name, host in (("a", TEST_DEFAULT), ("b", EPYC)):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "domxml-lint.toml").write_text(f'host = ["{host}"]\n')
        (directory / "vm.xml").write_text(domain(name=f"vm-{name}", devices=disk(IMAGE)))
    result = run_cli("--select", "DX413", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode()
    (tmp_path / "b" / "domxml-lint.toml").write_text(f'host = ["{TEST_DEFAULT}"]\n')
    shared = run_cli("--select", "DX413", str(tmp_path), cwd=tmp_path)
    assert shared.returncode == 1 and shared.stdout.count(b"DX413") == 2


def test_jobs_give_the_same_output(tmp_path):
    paths = []
    for number in range(12):
        path = tmp_path / f"vm-{number:02}.xml"
        path.write_text(domain(name=f"vm-{number % 5}", devices=disk(f"/srv/{number % 4}.qcow2")))
        paths.append(str(path))
    serial = run_cli("--host", str(TEST_DEFAULT), "--jobs", "1", "--output-format", "json", *paths)
    shared = run_cli("--host", str(TEST_DEFAULT), "--jobs", "3", "--output-format", "json", *paths)
    assert serial.stdout == shared.stdout
    codes = {r["code"] for r in records(serial)}
    assert {"DX015", "DX413"} <= codes


def test_suppression_and_per_file_ignores_apply_to_plan_findings(tmp_path):
    quiet = "<!-- domxml-lint: disable=disk-image-shared -->\n"
    first = tmp_path / "web-01.xml"
    first.write_text(domain(name="web-01", devices=quiet + disk(IMAGE)))
    second = tmp_path / "web-02.xml"
    second.write_text(domain(name="web-02", devices=disk(IMAGE)))
    result = run_cli(
        "--host",
        str(TEST_DEFAULT),
        "--select",
        "DX413,DX001",
        "--output-format",
        "json",
        str(first),
        str(second),
    )
    assert [Path(r["filename"]).name for r in records(result)] == ["web-02.xml"]
    (tmp_path / "domxml-lint.toml").write_text('[per-file-ignores]\n"web-02.xml" = ["DX413"]\n')
    ignored = run_cli(
        "--host",
        str(TEST_DEFAULT),
        "--select",
        "DX413",
        "--output-format",
        "json",
        str(first),
        str(second),
        cwd=tmp_path,
    )
    assert records(ignored) == []


def test_fix_reports_plan_findings_of_the_fixed_files(tmp_path):
    """--fix: the plan sees each guest as it is after its fix."""
    paths = guests(
        tmp_path,
        {"devices": disk(IMAGE).replace("cache='none'", "cache='none' io='native'")},
        {"devices": disk(IMAGE)},
    )
    result = run_cli(
        "--host", str(TEST_DEFAULT), "--fix", "--select", "DX413,DX404", *map(str, paths)
    )
    assert result.returncode == 1
    assert result.stdout.count(b"DX413") == 2


def test_a_third_party_plan_rule(tmp_path):
    plugin = textwrap.dedent(
        '''
        from domxml_lint import hookimpl, plan_rule


        @plan_rule(code="ACME101", name="acme-too-many-guests", severity="warning",
                   summary="More than one guest on a host")
        def too_many(ctx):
            """
            ## What it does
            Counts guests.
            """
            if len(ctx.guests) > 1:
                first = ctx.guests[0]
                related = [ctx.related(g, None, g.label) for g in ctx.guests[1:]]
                yield ctx.finding(first, first.name_place, "more than one guest", related=related)
                yield ctx.host_finding(f"{len(ctx.guests)} guests", fact="capabilities/host")


        @hookimpl
        def domxml_lint_plan_rules():
            return [too_many]
        '''
    )
    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "acme_plans", plugin)
    paths = guests(tmp_path, {}, {})
    env = {"PYTHONPATH": str(site)}
    listing = run_cli("rules", "--select", "ACME101", env=env)
    assert b"ACME101  acme-too-many-guests" in listing.stdout and b" plan " in listing.stdout
    result = run_cli(
        "--host",
        str(TEST_DEFAULT),
        "--select",
        "ACME101",
        "--output-format",
        "json",
        *map(str, paths),
        env=env,
    )
    found = records(result)
    assert [(Path(r["filename"]).name, r["line"]) for r in found] == [
        ("web-01.xml", 2),
        ("test-default.xml", found[1]["line"]),
    ]
    assert found[1]["line"] > 1 and found[0]["related"][0]["filename"] == str(paths[1])
    wrong_hook = plugin.replace("def domxml_lint_plan_rules", "def domxml_lint_rules")
    (site / "acme_plans.py").write_text(wrong_hook)
    refused = run_cli("rules", env=env)
    assert refused.returncode == 2
    assert b"plan rules go to domxml_lint_plan_rules()" in refused.stderr


def test_library_lint_host_and_pickling():
    host = load_host(TEST_DEFAULT)
    first = domain(name="web-01", devices=disk(IMAGE))
    found = lint_host([first, first.replace("web-01", "web-02")], host=host, select="DX413")
    assert [len(f) for f in found.values()] == [1, 1]
    assert list(found) == ["<string 1>", "<string 2>"]
    result = FileResult("x.xml", findings=found["<string 1>"])
    back = pickle.loads(pickle.dumps(result))
    assert back.findings[0].related == (
        Related("<string 2>", 8, 7, "disk 'vda' of guest 'web-02' writes it"),
    )


def test_live_domains_are_guests_of_the_live_host(tmp_path):
    """With --connect, the live host's domains are in the plan, and a file with a live
    domain's name and UUID is its next definition, not a duplicate."""
    live = run_cli(
        "--connect",
        "test:///default",
        "--domain",
        "test",
        "--via",
        "virsh",
        "--output-format",
        "json",
        "--select",
        "DX015",
    )
    assert records(live) == []
    virsh = require_virsh()
    xml = subprocess.run(
        [virsh, "-c", "test:///default", "dumpxml", "--inactive", "test"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    same = tmp_path / "test.xml"
    same.write_text(xml)
    uuid = xml[xml.index("<uuid>") + len("<uuid>") : xml.index("</uuid>")]
    other = tmp_path / "test-copy.xml"
    other.write_text(xml.replace(uuid, "11111111-2222-3333-4444-555555555555"))
    args = [
        "--connect",
        "test:///default",
        "--all-domains",
        "--via",
        "virsh",
        "--select",
        "DX015",
        "--output-format",
        "json",
    ]
    clean = run_cli(*args, str(same))
    assert records(clean) == []
    clash = records(run_cli(*args, str(other)))
    assert {r["filename"] for r in clash} == {"test:///default/domain/test", str(other)}
    assert all("already exists with uuid" in r["message"] for r in clash)


def test_rules_on_system_facts_say_why_they_stay_silent(tmp_path):
    """A snapshot without system facts skips those rules; one without a particular fact
    runs them, and they say which fact is missing."""
    paths = guests(tmp_path, {"vcpu": "<vcpu placement='auto'>2</vcpu>"}, {})
    bare = run_cli("-v", "--host", str(EPYC), *map(str, paths))
    assert b"DX010" not in bare.stdout and b"DX212" not in bare.stdout
    skipped = [
        line for line in bare.stderr.splitlines() if line.startswith(b"domxml-lint: skipped")
    ]
    assert any(
        b"DX010" in line and b"DX212" in line and b"system facts" in line for line in skipped
    )
    partial = run_cli("-v", "--host", str(HOSTS / "partial-system.xml"), *map(str, paths))
    assert b"note: " in partial.stderr and b"the snapshot does not say which tuned profile" in (
        partial.stderr
    )
