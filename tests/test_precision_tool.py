"""tools/precision.py: the triage sheet, verdicts and precision figures for a set of files."""

from __future__ import annotations

import csv
import sys

import pytest

from helpers import REPO
from samples import domain

sys.path.insert(0, str(REPO / "tools"))

import precision  # noqa: E402

# A virtio NIC with one queue on a 4-vCPU guest (DX502, info) and a disk with
# cache='unsafe' (DX401, error).
GUEST = domain(
    devices=(
        "    <disk type='file' device='disk'>\n"
        "      <driver name='qemu' type='raw' cache='unsafe'/>\n"
        "      <source file='/var/lib/libvirt/images/a.img'/>\n"
        "      <target dev='vda' bus='virtio'/>\n"
        "    </disk>\n"
        "    <interface type='network'>\n"
        "      <source network='default'/>\n"
        "      <model type='virtio'/>\n"
        "    </interface>\n"
    ),
    vcpu="<vcpu>4</vcpu>",
    machine="pc-q35-8.2",
    body="  <features><acpi/></features>",
)


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "tool-a").mkdir()
    (tmp_path / "tool-a" / "guest.xml").write_text(GUEST)
    (tmp_path / "tool-a" / "clean.xml").write_text(domain(body="  <features><acpi/></features>"))
    (tmp_path / "network.xml").write_text("<network><name>n</name></network>")
    (tmp_path / "broken.xml").write_text("<domain><name>x</name>")
    return tmp_path


def _codes(run):
    return sorted((r.file, r.code) for r in run.rows)


def test_lints_every_domain_and_says_why_others_are_skipped(corpus):
    run = precision.lint_directory(corpus, select="DX401,DX502")
    assert run.checked == ["tool-a/clean.xml", "tool-a/guest.xml"]
    assert set(run.skipped) == {"broken.xml", "network.xml"}
    assert "not a domain" in run.skipped["network.xml"]
    assert _codes(run) == [("tool-a/guest.xml", "DX401"), ("tool-a/guest.xml", "DX502")]


def test_sheet_and_verdicts_give_precision_per_rule_and_the_false_errors(corpus, tmp_path):
    run = precision.lint_directory(corpus, select="DX401,DX502")
    by_code = {r.code: r for r in run.rows}
    verdicts_path = tmp_path / "verdicts.tsv"
    verdicts_path.write_text(
        "# judged by hand\n"
        "file\tcode\tline\tverdict\treason\n"
        f"tool-a/guest.xml\tDX401\t{by_code['DX401'].line}\tfalse\tscratch disk\n"
        f"tool-a/guest.xml\tDX502\t{by_code['DX502'].line}\ttrue\tone queue\n"
        "tool-a/gone.xml\tDX999\t1\ttrue\tno longer reported\n"
    )
    verdicts = precision.read_verdicts(verdicts_path)
    summary = precision.summarise(run, verdicts)
    p = summary["precision"]
    assert (p["true"], p["false"], p["unjudged"], p["overall"]) == (1, 1, 0, 50.0)
    assert p["errors"] == 0.0
    assert [e["code"] for e in p["false_errors"]] == ["DX401"]
    assert [v["file"] for v in p["stale_verdicts"]] == ["tool-a/gone.xml"]
    assert summary["rules"]["DX502"]["precision"] == 100.0
    assert summary["noise"]["files_with_any"] == 1
    assert summary["noise"]["files_with_warning_or_error"] == 1

    sheet = tmp_path / "triage.tsv"
    precision.write_sheet(sheet, run.rows, {v.key: v for v in verdicts})
    rows = list(csv.DictReader(sheet.open(), delimiter="\t"))
    assert [(r["code"], r["verdict"]) for r in rows] == [("DX401", "false"), ("DX502", "true")]


def test_a_bad_verdict_names_the_file_and_line(tmp_path):
    path = tmp_path / "verdicts.tsv"
    path.write_text("file\tcode\tline\tverdict\treason\na.xml\tDX401\t3\tmaybe\t\n")
    with pytest.raises(SystemExit, match=r"verdicts.tsv:2: verdict 'maybe'"):
        precision.read_verdicts(path)


def test_fail_under_fails_on_a_false_error(corpus, tmp_path, capsys):
    run = precision.lint_directory(corpus, select="DX401")
    (row,) = run.rows
    verdicts = tmp_path / "v.tsv"
    verdicts.write_text(
        f"file\tcode\tline\tverdict\treason\n{row.file}\tDX401\t{row.line}\tfalse\tx\n"
    )
    argv = [str(corpus), "--select", "DX401", "--sheet", "-", "--verdicts", str(verdicts)]
    assert precision.main(argv) == 0
    assert precision.main([*argv, "--fail-under", "95"]) == 1
    assert "false error: tool-a/guest.xml" in capsys.readouterr().out
