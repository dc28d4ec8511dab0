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
    assert [s.rule.name for s in linter.skipped] == ["hyperv-unsupported-by-host"]
    assert linter.skipped[0].reason == "no host snapshot (--host)"
    on_test_driver = build_linter(select=["DX704"], host=load_host(TEST_DEFAULT))
    assert [(s.rule.code, s.reason) for s in on_test_driver.skipped] == [
        ("DX704", "the host snapshot lacks domain capabilities (virsh domcapabilities)")
    ]
    assert not check(trigger, ["hyperv-unsupported-by-host"], load_host(TEST_DEFAULT)).findings


def test_iothreads_per_host_cpu_needs_a_host():
    trigger = RULE_FIXTURES / "iothreads-oversized" / "trigger-host-cpus.xml"
    assert not check(trigger, ["iothreads-oversized"]).findings
    assert check(trigger, ["iothreads-oversized"], load_host(EPYC)).findings
