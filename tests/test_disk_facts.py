"""Disk facts as libvirt's parser reads them, and the disk rules that follow a version."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts
from domxml_lint.facts.storage import DiskName, parse_disk_name
from domxml_lint.linter import Linter
from domxml_lint.plugins import load_ruleset
from domxml_lint.versions import Version, Versions
from samples import domain


def facts_of(devices: str, **kwargs) -> DomainFacts:
    return DomainFacts(Document.parse(domain(devices=devices, **kwargs).encode()))


@pytest.mark.parametrize(
    "name,parsed",
    [("vda", DiskName(0, 0)), ("sdz2", DiskName(25, 2)), ("vdaa", DiskName(26, 0)),
     ("vdaa12", DiskName(26, 12)), ("hdab", DiskName(27, 0)), ("xvdb", DiskName(1, 0)),
     ("ubda", DiskName(0, 0)), ("fda", DiskName(0, 0)), ("vda0", DiskName(0, 0)),
     ("vd", None), ("vd1", None), ("sdA", None), ("vda01", None), ("vda_1", None),
     ("nvme0n1", None), ("vdb99999999999", None), ("", None), (None, None)],
)  # fmt: skip
def test_disk_names_parse_as_virDiskNameParse_does(name, parsed):
    assert parse_disk_name(name) == parsed


@pytest.mark.parametrize(
    "disk,bus",
    [("<disk device='floppy'><target dev='hdb'/></disk>", "fdc"),
     ("<disk><target dev='sdc'/></disk>", "scsi"),
     ("<disk><target dev='xvda'/></disk>", "xen"),
     ("<disk><target dev='fda'/></disk>", "ide"),
     ("<disk><target dev='weird'/></disk>", "ide"),
     ("<disk><target dev='vda' bus='usb'/></disk>", "usb"),
     ("<disk><target dev='ioemu:hdb'/></disk>", "ide"),
     ("<disk><target bus='sata'/></disk>", "sata"),
     ("<disk/>", None)],
)  # fmt: skip
def test_the_bus_is_libvirts_default(disk, bus):
    assert facts_of(disk).disks[0].effective_bus == bus


def test_the_old_ioemu_prefix_is_dropped():
    disk = facts_of("<disk><source file='/a'/><target dev='ioemu:hda'/></disk>").disks[0]
    assert disk.dev == "hda" and disk.name == DiskName(0, 0)


def test_disks_in_libvirt_order_group_by_written_bus_then_number():
    facts = facts_of(
        "<disk><target dev='vdb'/></disk><disk><target dev='vda' bus='virtio'/></disk>"
        "<disk><target dev='vda'/></disk><disk><target dev='ioemu:vdc'/></disk>"
        "<disk><target dev='hda' bus='ide'/></disk>"
    )
    order = [d.target_attr("dev") for d in facts.disks_in_libvirt_order]
    assert order == ["ioemu:vdc", "vda", "vdb", "vda", "hda"]


def test_defaults_and_the_medium():
    disks = facts_of(
        "<disk device='cdrom'><driver type='aio'/><target dev='hdc'/></disk>"
        "<disk type='file'><source file=''/><target dev='vda'/></disk>"
        "<disk type='volume'><target dev='vdb'/></disk>"
        "<disk type='network'><source protocol='nbd' name='x'/><target dev='vdc'/></disk>"
    ).disks
    cdrom, empty, volume, network = disks
    assert cdrom.readonly and cdrom.storage.type == "file" and cdrom.format == "raw"
    assert cdrom.storage.is_empty and not cdrom.has_source
    assert empty.storage.is_empty and empty.storage.path is None
    assert not volume.storage.is_empty  # libvirt: only local storage can lack a path
    assert not network.storage.is_empty


def test_the_chain_runs_to_the_terminator():
    disk = facts_of(
        "<disk type='file'><driver name='qemu' type='qcow2'/><source file='/top.qcow2'/>"
        "<backingStore type='block'><format type='qcow2'/><source dev='/dev/vg/mid'/>"
        "<backingStore type='network'><format type='raw'/>"
        "<source protocol='rbd' name='pool/base'><host name='mon'/></source>"
        "<backingStore/></backingStore></backingStore><target dev='vda'/></disk>"
    ).disks[0]
    chain = disk.chain
    assert [(s.depth, s.type, s.format) for s in chain] == [
        (0, "file", "qcow2"), (1, "block", "qcow2"), (2, "network", "raw"),
    ]  # fmt: skip
    assert chain[0].path == "/top.qcow2" and chain[1].path == "/dev/vg/mid"
    assert chain[2].protocol == "rbd" and chain[2].message_path == "base"
    assert [h.name for h in chain[2].hosts] == ["mon"] and chain[2].hosts[0].transport == "tcp"
    assert chain[2].backing is None and chain[2].backing_element is not None


def test_auth_and_encryption_beside_or_inside_the_source():
    disk = facts_of(
        "<disk type='network'><auth username='u'><secret type='ceph' usage='s'/></auth>"
        "<source protocol='rbd' name='p/i'><host name='mon'/>"
        "<encryption format='luks' engine='librbd'><secret type='passphrase' usage='a'/>"
        "<secret type='passphrase' usage='b'/></encryption></source>"
        "<target dev='vda'/></disk>"
    ).disks[0]
    source = disk.storage
    assert source.auth is not None and source.auth.secret_type == "ceph"
    assert len(source.auth_elements) == 1
    encryption = source.encryption
    assert encryption is not None and encryption.engine == "librbd"
    assert encryption.format == "luks" and len(encryption.secrets) == 2


def test_iotune_and_metadata_cache_values():
    disk = facts_of(
        "<disk><driver type='qcow2'><metadata_cache><max_size unit='MiB'>2</max_size>"
        "</metadata_cache></driver><source file='/a'/><target dev='vda'/>"
        "<iotune><total_iops_sec>0</total_iops_sec><size_iops_sec>4096</size_iops_sec>"
        "<group_name>g</group_name></iotune></disk>"
    ).disks[0]
    assert disk.storage.metadata_cache_max_size == 2 * 1024 * 1024
    iotune = disk.iotune
    assert iotune is not None and iotune.group_name == "g"
    assert iotune.has_any and iotune.value("total_iops_sec") == 0
    assert iotune.value("read_bytes_sec") == 0


def _linter(rule: str, versions: Versions) -> Linter:
    ruleset = load_ruleset()
    return Linter(ruleset.select(select=[rule]), ruleset, versions=versions)


SCSI_REMOVABLE = domain(
    devices="<disk type='file' device='disk'><source file='/a.img'/>"
    "<target dev='sda' bus='scsi' removable='on'/></disk>"
)


def test_removable_on_scsi_follows_the_libvirt_version():
    doc = Document.parse(SCSI_REMOVABLE.encode())
    assert not build_linter(select=["DX458"]).check(doc).findings
    old = _linter("DX458", Versions(libvirt=Version(9, 0, 0))).check(doc).findings
    assert [f.message.split(" (")[0] for f in old] == ["removable is only valid for usb disks"]


VIRTIO_LUN = domain(
    devices="<disk type='block' device='lun'><source dev='/dev/sdb'/>"
    "<target dev='vda' bus='virtio'/></disk>"
)


@pytest.mark.parametrize(
    "qemu,fires", [(None, True), (Version(9, 1, 0), True), (Version(9, 0, 0), False)]
)
def test_virtio_lun_follows_the_qemu_version(qemu, fires):
    doc = Document.parse(VIRTIO_LUN.encode())
    findings = _linter("DX468", Versions(qemu=qemu)).check(doc).findings
    assert bool(findings) is fires


def _libvirt_insertion_order(disks: list[tuple[str | None, str]]) -> list[int]:
    """virDomainDiskInsertPreAlloced as libvirt writes it, on (bus, dev) pairs: the indexes
    of the disks in the order it keeps them."""
    ordered: list[int] = []
    for index, (bus, dev) in enumerate(disks):
        name = parse_disk_name(dev)
        number = -1 if name is None else name.number
        insert_at = -1
        for position in range(len(ordered) - 1, -1, -1):
            other_bus, other_dev = disks[ordered[position]]
            other_name = parse_disk_name(other_dev)
            other_number = -1 if other_name is None else other_name.number
            if other_bus == bus and other_number > number:
                insert_at = position
            elif other_bus == bus and insert_at == -1:
                insert_at = position + 1
        if insert_at == -1:
            ordered.append(index)
        else:
            ordered.insert(insert_at, index)
    return ordered


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "virtio", "scsi", "sata"]),
            st.sampled_from(["vda", "vdb", "vdc", "vdz", "vdaa", "sda", "sdb", "hda", "x", "vd"]),
        ),
        max_size=12,
    )
)
def test_disks_in_libvirt_order_is_libvirts_insertion_order(disks):
    # The facts take a linear path when no disk numbers below an earlier one of its bus.
    devices = "".join(
        f"<disk><target dev='{dev}'{'' if bus is None else f' bus={bus!r}'}/></disk>"
        for bus, dev in disks
    )
    facts = facts_of(devices)
    order = [facts.disks.index(disk) for disk in facts.disks_in_libvirt_order]
    assert order == _libvirt_insertion_order(disks)
