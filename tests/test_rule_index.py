"""The rule index: current, faithful, and what lets a run skip the modules it does not need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from domxml_lint import rules as rules_module
from domxml_lint.document import Document
from domxml_lint.errors import InternalError
from domxml_lint.facts import DomainFacts
from domxml_lint.planrules import PlanRule
from domxml_lint.rule import DeferredCheck, RuleContext
from domxml_lint.rules import builtin_plan_rules, builtin_rules, scan_modules

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import rule_index  # noqa: E402


def test_index_is_current():
    assert rule_index.INDEX.read_text(encoding="utf-8") == rule_index.render(), (
        "src/domxml_lint/rules/_index.py is out of date: run python tools/rule_index.py --write"
    )


def test_every_indexed_rule_loads_the_rule_its_module_defines():
    defined = {item.code: item for _, _, item in scan_modules()}
    indexed = [*builtin_rules(), *builtin_plan_rules()]
    assert sorted(r.code for r in indexed) == sorted(defined)
    for item in indexed:
        assert item.deferred
        loaded = item.loaded()
        assert loaded is defined[item.code]
        assert loaded.metadata() == item.metadata()
        assert isinstance(loaded, PlanRule) == isinstance(item, PlanRule)
        assert item.origin == "domxml_lint"
        assert item.source_file == loaded.source_file
        assert item.doc == loaded.doc and item.doc


def test_calling_an_indexed_rules_check_runs_the_real_one():
    """Plugins and scripts may call ``rule.check(ctx)`` on a rule from the ruleset."""
    domain = (
        b"<domain type='kvm'><name>a</name><memory>1048576</memory><vcpu>1</vcpu>"
        b"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        b"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='unsafe'/>"
        b"<source file='/a.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    fresh = next(r for r in rules_module._indexed.__wrapped__() if r.code == "DX401")
    assert fresh.deferred
    doc = Document.parse(domain, "a.xml")
    ctx = RuleContext(doc, DomainFacts(doc))
    ctx.rule = fresh
    called = [f.message for f in fresh.check(ctx)]
    ctx.rule = fresh.loaded()
    assert called == [f.message for f in fresh.loaded().check(ctx)]
    assert called and "cache='unsafe'" in called[0]


def test_a_stale_entry_is_an_internal_error_naming_the_fix():
    real = next(r for r in builtin_rules() if r.code == "DX401")
    module = real.loaded().check.__module__
    stale = attrs.evolve(
        real, summary="an older summary", check=DeferredCheck(module, "disk_cache_unsafe")
    )
    with pytest.raises(InternalError, match="rule index disagrees") as raised:
        stale.loaded()
    assert "python tools/rule_index.py --write" in str(raised.value)


def test_one_file_imports_only_the_rule_modules_it_triggers(tmp_path):
    """A domain with one disk loads the disk rules, not the NUMA, network or plan rules."""
    domain = tmp_path / "one-disk.xml"
    domain.write_text(
        "<domain type='kvm'><name>a</name><memory>1048576</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
        "<source file='/var/lib/libvirt/images/a.qcow2'/><target dev='vda' bus='virtio'/>"
        "</disk></devices></domain>"
    )
    script = (
        "import sys\n"
        "from domxml_lint.cli import main\n"
        f"main(['--no-config', '--quiet', {str(domain)!r}])\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('domxml_lint.rules.dx')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(done.stdout.split())
    every = {module for module, _, _ in scan_modules()}
    assert "domxml_lint.rules.dx4_storage.disk_cache" in loaded
    assert "domxml_lint.rules.dx5_network.network" not in loaded
    assert "domxml_lint.rules.dx0_document.host_conflicts" not in loaded  # plan rules
    assert len({m for m in loaded if m in every}) < len(every) / 2
