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


def _context(machine: str, host):
    from domxml_lint.facts import DomainFacts
    from domxml_lint.rule import RuleContext
    from samples import domain

    text = domain(machine=machine)
    doc = Document.parse(text.encode(), "vm.xml")
    ctx = RuleContext(doc, DomainFacts(doc), host)
    ctx.rule = build_linter(select=["DX704"], host=host).rules[0]
    return ctx


def test_domain_caps_are_the_ones_for_the_guests_machine():
    host = load_host(EPYC)
    assert _context("pc-i440fx-8.2", host).domain_caps.machine == "pc-i440fx-8.2"
    assert _context("q35", host).domain_caps.machine == "pc-q35-8.2"  # alias, via capabilities


def test_domain_caps_for_an_unlisted_machine_are_none_with_a_note():
    ctx = _context("pc-q35-2.12", load_host(EPYC))
    assert ctx.domain_caps is None
    assert ctx.notes == [
        ("DX704", "the host snapshot has no domain capabilities for kvm/x86_64/pc-q35-2.12")
    ]
