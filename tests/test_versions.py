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
