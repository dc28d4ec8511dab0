"""Proof from libvirt for the disk rules: what they report, libvirt 9.0+ really refuses.

Each case is one disk problem in an otherwise valid domain: the rule must fire
and quote libvirt's message, and libvirt's test driver must refuse the domain
with that message. Only libvirt's driver-independent checks
(virDomainDiskDefValidate and friends) run in the test driver; the QEMU
driver's are backed by libvirt 10.7's own test verdicts (tests/test_agreement.py).
Where libvirt 9.0 words a message differently from 10.7, the pattern accepts both.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import RULE_FIXTURES
from libvirt_helpers import as_test_driver, define_error, libvirt_conn  # noqa: F401

pytestmark = pytest.mark.libvirt

DOMAIN = """<domain type='kvm'>
  <name>disk-proof</name>
  <memory unit='GiB'>1</memory>
  <vcpu placement='static'>1</vcpu>
  {top}
  <os>
    <type arch='x86_64' machine='pc-i440fx-8.2'>hvm</type>
  </os>
  <devices>
    {devices}
  </devices>
</domain>
"""

FILE = "<source file='/var/lib/libvirt/images/a.img'/>"

#: (rule, devices, top-level XML, libvirt's message as a regex).
CASES = [
    ("disk-target-prefix-invalid",
     f"<disk type='file' device='disk'>{FILE}<target dev='fda' bus='virtio'/></disk>", "",
     r"Invalid harddisk device name: fda"),
    ("disk-target-prefix-invalid",
     f"<disk type='file' device='floppy'>{FILE}<target dev='hdb'/></disk>", "",
     r"Invalid floppy device name: hdb"),
    ("disk-target-duplicate",
     f"<disk type='file' device='disk'>{FILE}<target dev='vda'/></disk>"
     "<disk type='network' device='disk'><source protocol='rbd' name='pool/b'>"
     "<host name='mon'/></source><target dev='vda'/></disk>", "",
     r"target 'vda' duplicated for disk sources '/var/lib/libvirt/images/a.img' and 'b'"),
    ("disk-target-duplicate",
     "<disk type='file' device='disk'><source file='/hd.img'/><target dev='hda' bus='ide'/>"
     "</disk><disk type='file' device='disk'><source file='/usb.img'/>"
     "<target dev='sda' bus='usb'/></disk><disk type='file' device='disk'>"
     "<source file='/ide.img'/><target dev='sda' bus='ide'/></disk>", "",
     r"target 'sda' duplicated for disk sources '/ide.img' and '/usb.img'"),
    ("disk-target-duplicate",
     "<disk type='file' device='disk'><source file='/b'/><target dev='vdb'/></disk>"
     "<disk type='file' device='disk'><source file='/x'/><target dev='vda' bus='virtio'/>"
     "</disk><disk type='file' device='disk'><source file='/y'/><target dev='vda'/></disk>",
     "", r"target 'vda' duplicated for disk sources '/y' and '/x'"),
    ("disk-address-type-invalid",
     f"<disk type='file' device='disk'>{FILE}<target dev='sda' bus='sata'/>"
     "<address type='pci' domain='0' bus='0' slot='5' function='0'/></disk>", "",
     r"Invalid address type 'pci' for the disk 'sda' with the bus type 'sata'"),
    ("disk-bus-device-mismatch",
     f"<disk type='file' device='floppy'>{FILE}<target dev='fda' bus='ide'/></disk>", "",
     r"Invalid bus type 'ide' for floppy disk"),
    ("disk-bus-device-mismatch",
     f"<disk type='file' device='disk'>{FILE}<target dev='hda' bus='fdc'/></disk>", "",
     r"Invalid bus type 'fdc' for disk"),
    ("disk-target-option-invalid",
     f"<disk type='file' device='disk'>{FILE}<target dev='vda' tray='open'/></disk>", "",
     r"tray is only valid for cdrom and floppy"),
    ("disk-target-option-invalid",
     f"<disk type='file' device='cdrom'>{FILE}<target dev='hdc' removable='on'/></disk>", "",
     r"removable is only valid for usb (or scsi )?disks"),
    ("disk-source-missing",
     "<disk type='file' device='disk'><target dev='vda'/></disk>", "",
     r"missing source information for device vda"),
    ("disk-startup-policy-invalid",
     "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='1' "
     "startupPolicy='optional'><address domain='0' bus='1' slot='0' function='0'/></source>"
     "<target dev='vda'/></disk>", "",
     r"disk startupPolicy 'optional' is not allowed for disk of 'nvme' type"),
    ("disk-startup-policy-invalid",
     "<disk type='file' device='disk'><source file='/a.img' startupPolicy='requisite'/>"
     "<target dev='vda'/></disk>", "",
     r"disk startupPolicy 'requisite' is allowed only for cdrom or floppy"),
    ("nvme-namespace-zero",
     "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='0'>"
     "<address domain='0' bus='1' slot='0' function='0'/></source><target dev='vda'/></disk>",
     "", r"NVMe namespace can't be zero"),
    ("blkiotune-device-duplicate", "",
     "<blkiotune><device><path>/dev/sda</path><weight>500</weight></device>"
     "<device><path>/dev/sda</path><weight>600</weight></device></blkiotune>",
     r"duplicate blkio device path '/dev/sda'"),
    ("disk-auth-invalid",
     "<disk type='network' device='disk'><auth username='u'><secret type='iscsi' usage='s'/>"
     "</auth><source protocol='nbd' name='x'><host name='h'/></source><target dev='vda'/>"
     "</disk>", "",
     r"authentication is not supported for protocol 'nbd'"),
    ("disk-auth-invalid",
     "<disk type='network' device='disk'><auth username='u'><secret type='ceph' usage='s'/>"
     "</auth><source protocol='iscsi' name='iqn.x/1'><host name='h'/></source>"
     "<target dev='vda'/></disk>", "",
     r"invalid secret type 'ceph'"),
    ("disk-auth-invalid",
     "<disk type='network' device='disk'><auth username='u'><secret type='ceph' usage='s'/>"
     "</auth><source protocol='rbd' name='pool/image'><host name='h'/><auth username='u'>"
     "<secret type='ceph' usage='s'/></auth></source><target dev='vda'/></disk>", "",
     r"an <auth> definition already found for disk source"),
    ("disk-encryption-invalid",
     "<disk type='file' device='disk'><source file='/a.img'><encryption format='luks'>"
     "<secret type='passphrase' usage='s'/><cipher name='aes' size='256'/>"
     "<ivgen name='plain64'/></encryption></source><target dev='vda'/></disk>", "",
     r"supplying <cipher> for domain disk definition is unnecessary"),
    ("disk-encryption-invalid",
     "<disk type='file' device='disk'><encryption format='luks'><secret type='passphrase' "
     "usage='s'/></encryption><source file='/a.img'><encryption format='luks'>"
     "<secret type='passphrase' usage='s'/></encryption></source><target dev='vda'/></disk>",
     "", r"an <encryption> definition already found for disk source"),
    ("disk-lun-source-invalid",
     "<disk type='network' device='lun'><source protocol='nbd' name='x'><host name='h'/>"
     "</source><target dev='sda' bus='scsi'/></disk>", "",
     r"disk device='lun' is not supported for protocol='nbd'"),
    ("disk-lun-source-invalid",
     "<disk type='block' device='lun'><target dev='sda' bus='scsi'/></disk>", "",
     r"disk device='lun' is only valid for block type disk source"),
    ("disk-lun-source-invalid",
     "<disk type='block' device='lun'><driver name='qemu' type='qcow2'/>"
     "<source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>", "",
     r"disk device 'lun' must use 'raw' format"),
    ("disk-lun-source-invalid",
     "<disk type='block' device='lun'><source dev='/dev/sdb'><slices><slice type='storage' "
     "offset='0' size='1024'/></slices></source><target dev='sda' bus='scsi'/></disk>", "",
     r"disk device 'lun' doesn't support storage slice"),
    ("disk-lun-options-invalid",
     "<disk type='block' device='disk'><source dev='/dev/sdb'><reservations managed='yes'/>"
     "</source><target dev='sda' bus='scsi'/></disk>", "",
     r"<reservations/> allowed only for lun devices"),
    ("network-source-name-invalid",
     "<disk type='network' device='disk'><source protocol='gluster' name='image'>"
     "<host name='h'/></source><target dev='vda'/></disk>", "",
     r"can't split path 'image' into pool name and image name"),
    ("http-cookie-invalid",
     "<disk type='network' device='disk'><source protocol='http' name='x'><host name='h'/>"
     "<cookies><cookie name='a'>b</cookie><cookie name='a'>c</cookie></cookies></source>"
     "<target dev='vda'/></disk>", "",
     r"duplicate cookie 'a'"),
    ("http-cookie-invalid",
     "<disk type='network' device='disk'><source protocol='http' name='x'><host name='h'/>"
     "<cookies><cookie name='a'>\"b</cookie></cookies></source><target dev='vda'/></disk>",
     "", r"value of cookie 'a' contains invalid characters"),
]  # fmt: skip


@pytest.mark.parametrize(
    "rule,devices,top,pattern", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_libvirt_refuses_what_the_disk_rule_reports(libvirt_conn, rule, devices, top, pattern):  # noqa: F811
    data = DOMAIN.format(devices=devices, top=top).encode()
    findings = build_linter(select=[rule]).check(Document.parse(data)).findings
    assert any(re.search(pattern, f.message) for f in findings), (
        f"{rule} does not quote libvirt's message: {[f.message for f in findings]}"
    )
    error = define_error(libvirt_conn, as_test_driver(data), validate=False)
    assert error is not None, "libvirt accepted XML the rule calls invalid"
    assert re.search(pattern, error), f"libvirt said: {error!r}"


#: Rules whose checks run in libvirt's driver-independent validation, with clean fixtures.
COMMON_RULES = sorted({case[0] for case in CASES})
#: Clean fixtures that need more than libvirt 9.0's test driver knows.
BEYOND_TEST_DRIVER = {
    # removable on a SCSI disk: accepted by libvirt 10.7, refused by 9.0
    "disk-target-option-invalid/clean.xml",
    # librbd's luks-any encryption format: libvirt 9.0's parser does not know it yet
    "disk-encryption-invalid/clean-librbd-qemu-8.0.xml",
}


@pytest.mark.parametrize(
    "fixture",
    [
        f"{rule}/{path.name}"
        for rule in COMMON_RULES
        for path in sorted((RULE_FIXTURES / rule).glob("clean*.xml"))
        if f"{rule}/{path.name}" not in BEYOND_TEST_DRIVER
    ],
)
def test_libvirt_accepts_the_disk_rules_clean_fixtures(libvirt_conn, fixture):  # noqa: F811
    xml = as_test_driver((RULE_FIXTURES / fixture).read_bytes())
    error = define_error(libvirt_conn, xml, validate=False)
    assert error is None, f"libvirt refuses a clean fixture: {error}"
