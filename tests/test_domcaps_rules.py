"""Rules that read domain capabilities: silent without them, and they say why."""

from __future__ import annotations

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.host import load_host
from helpers import HOSTS, RULE_FIXTURES

EPYC = HOSTS / "epyc-2node.xml"
TEST_DEFAULT = HOSTS / "test-default.xml"


def check(path, select, host=None):
    doc = Document.parse(path.read_bytes(), str(path))
    return build_linter(select=select, host=host).check(doc)


def test_machine_limit_needs_a_host():
    trigger = RULE_FIXTURES / "vcpu-count-invalid" / "trigger-machine-limit.xml"
    assert not check(trigger, ["vcpu-count-invalid"]).findings
    found = check(trigger, ["vcpu-count-invalid"], load_host(EPYC)).findings
    assert [f.message.split(":")[0] for f in found] == [
        "288 vCPUs, but machine type 'pc-i440fx-8.2' allows at most 255 on this host"
    ]


def test_machine_limit_unknown_for_host_without_domcaps_is_a_note():
    trigger = RULE_FIXTURES / "vcpu-count-invalid" / "trigger-machine-limit.xml"
    checked = check(trigger, ["vcpu-count-invalid"], load_host(TEST_DEFAULT))
    assert not checked.findings
    assert checked.notes == [
        ("DX140", "the host snapshot has no vCPU limit for machine 'pc-i440fx-8.2'")
    ]


def test_hyperv_host_support_is_silent_without_domcaps():
    trigger = RULE_FIXTURES / "hyperv-unsupported-by-host" / "trigger.xml"
    linter = build_linter(select=["hyperv-unsupported-by-host"])
    assert [r.name for r in linter.skipped_for_host] == ["hyperv-unsupported-by-host"]
    checked = check(trigger, ["hyperv-unsupported-by-host"], load_host(TEST_DEFAULT))
    assert not checked.findings
    assert checked.notes and checked.notes[0][0] == "DX704"
    assert "no domain capabilities" in checked.notes[0][1]


def test_iothreads_per_host_cpu_needs_a_host():
    trigger = RULE_FIXTURES / "iothreads-oversized" / "trigger-host-cpus.xml"
    assert not check(trigger, ["iothreads-oversized"]).findings
    assert check(trigger, ["iothreads-oversized"], load_host(EPYC)).findings
