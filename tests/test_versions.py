"""Which libvirt and QEMU version-dependent checks follow: the config's, else the snapshot's."""

from __future__ import annotations

import pytest

from domxml_lint.config import ConfigResolver
from domxml_lint.errors import UsageError
from domxml_lint.host import load_host
from domxml_lint.linter import versions_for
from domxml_lint.plugins import load_ruleset
from domxml_lint.versions import Version, Versions, parse_version
from helpers import HOSTS


@pytest.mark.parametrize(
    "text,expected",
    [("10.7.0", Version(10, 7, 0)), ("9.6", Version(9, 6, 0)), (" 8.2.1 ", Version(8, 2, 1)),
     ("10", None), ("v10.7", None), ("", None), (None, None)],
)  # fmt: skip
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_unknown_means_the_newest_behaviour():
    assert Versions().libvirt_at_least(99) and Versions().qemu_at_least(99)
    old = Versions(Version(9, 0, 0), Version(7, 2, 0))
    assert not old.libvirt_at_least(9, 6) and old.libvirt_at_least(9)
    assert old.qemu_at_least(7, 2) and not old.qemu_at_least(8)


def test_the_config_names_the_target(tmp_path):
    (tmp_path / "domxml-lint.toml").write_text('libvirt-version = "9.0.0"\nqemu-version = "7.2"\n')
    config = ConfigResolver(load_ruleset()).for_path(str(tmp_path / "vm.xml"))
    assert config.versions == Versions(Version(9, 0, 0), Version(7, 2, 0))


def test_a_bad_version_is_a_usage_error(tmp_path):
    (tmp_path / "domxml-lint.toml").write_text('libvirt-version = "ten"\n')
    with pytest.raises(UsageError, match="libvirt-version must be a version string"):
        ConfigResolver(load_ruleset()).for_path(str(tmp_path / "vm.xml"))


def test_the_snapshot_fills_what_the_config_leaves_open():
    host = load_host(HOSTS / "epyc-2node-system.xml")
    assert host.libvirt_version is not None
    recorded = parse_version(host.libvirt_version)
    assert versions_for(Versions(), host).libvirt == recorded
    named = Versions(Version(8, 0, 0))
    assert versions_for(named, host).libvirt == Version(8, 0, 0)
    assert versions_for(named, None) == named


def test_memory_hotplug_without_numa_follows_the_libvirt_version():
    """DX341: before 9.6 libvirt refused <maxMemory> without guest NUMA; since then
    `virsh define` adds a node itself, except on s390-ccw machines."""
    from domxml_lint import lint
    from samples import GIB_4, domain

    hotplug = domain(
        "  <maxMemory slots='4' unit='GiB'>8</maxMemory>", memory=GIB_4, machine="pc-q35-8.2"
    )
    refused = "At least one numa node has to be configured when enabling memory hotplug"

    def messages(text: str, version: str | None) -> list[str]:
        return [f.message for f in lint(text, select="DX341", libvirt_version=version)]

    assert any(refused in m for m in messages(hotplug, "9.5.0"))
    assert not messages(hotplug, "9.6.0") and not messages(hotplug, None)
    s390 = hotplug.replace(
        "arch='x86_64' machine='pc-q35-8.2'", "arch='s390x' machine='s390-ccw-virtio'"
    )
    assert any(refused in m for m in messages(s390, None))


def test_migration_cache_follows_the_qemu_version():
    """DX801: only a QEMU without drop-cache (before 4.0) makes the cache mode block migration."""
    from domxml_lint import lint
    from helpers import RULE_FIXTURES

    trigger = (RULE_FIXTURES / "migration-unsafe-cache" / "trigger.xml").read_text()
    old = [f.code for f in lint(trigger, select="DX801", qemu_version="3.1.0")]
    assert old and set(old) == {"DX801"}
    assert lint(trigger, select="DX801", qemu_version="4.0.0") == []
    assert lint(trigger, select="DX801") == []  # unknown: the newest behaviour


def test_virtio_scsi_queues_on_a_machine_alias_follow_the_qemu_version():
    """DX408: an alias (q35) is QEMU's newest machine, which sizes virtio-scsi queues itself
    from QEMU 5.2 on; only an older QEMU leaves them at one."""
    from domxml_lint import lint
    from helpers import RULE_FIXTURES

    alias = RULE_FIXTURES / "virtio-scsi-queues-missing" / "trigger-unversioned-machine.xml"
    text = alias.read_text()
    assert [f.code for f in lint(text, select="DX408", qemu_version="5.1.0")] == ["DX408"]
    assert lint(text, select="DX408", qemu_version="5.2.0") == []
    assert lint(text, select="DX408") == []
