"""Proof from libvirt: what an error rule reports, libvirt 9.0+ really refuses.

For each case, the rule must fire on the XML and quote libvirt's message; the
XML, rewritten to the test driver, must be refused by libvirt with that very
message; and where the rule offers a fix, libvirt must accept the fixed XML.
Only driver-independent validation (domain_conf.c, domain_validate.c,
domain_postparse.c) can be proven this way: the test driver does not run the
QEMU driver's checks.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.fixer import fix_document
from helpers import RULE_FIXTURES
from libvirt_helpers import as_test_driver, define_error, libvirt_conn  # noqa: F401

pytestmark = pytest.mark.libvirt

#: (rule, fixture, libvirt's message as a regex). Fixtures of fixable rules
#: must also be accepted once fixed.
FIXTURE_CASES = [
    ("vcpu-count-invalid", "trigger.xml",
     r"maximum vCPU count must not be less than current vCPU count"),
    ("vcpu-count-invalid", "trigger-vcpus-id.xml",
     r"vcpu id '4' is out of range of maximum vcpu count"),
    ("vcpusched-invalid", "trigger.xml", r"vCPU '4' is not present in domain definition"),
    ("vcpusched-invalid", "trigger-overlap.xml",
     r"'vcpusched' attributes 'vcpus' must not overlap"),
    ("cputune-value-out-of-range", "trigger.xml",
     r"Value of cputune 'shares' must be in range \[2, 262144\]"),
    ("pci-controller-numa-node-invalid", "trigger.xml",
     r"The PCI controller with index=0 can't be associated with a NUMA node"),
    ("memory-sizes-inconsistent", "trigger.xml",
     r"maximum memory size must be equal or greater than the actual memory size"),
    ("virtio-mem-invalid", "trigger.xml",
     r"requested size must be smaller than or equal to @size"),
    ("virtio-mem-invalid", "trigger-pmem.xml", r"path is required for model 'virtio-pmem'"),
    ("iothread-reference-invalid", "trigger-iothreadids.xml", r"Cannot find 'iothread' : 3"),
    ("iothread-settings-invalid", "trigger.xml", r"duplicate iothread id '1' found"),
    ("disk-virtio-only-option", "trigger.xml",
     r"queues attribute in disk driver element is only supported (by virtio-blk|for virtio bus)"),
    ("disk-virtio-only-option", "trigger-crlf.xml",
     r"disk model 'virtio-non-transitional' not supported for bus 'ide'"),
    ("scsi-controller-virtio-only-option", "trigger-serial-iothread.xml",
     r"'iothread' attribute only supported for virtio scsi controllers"),
    ("vhostuser-disk-invalid", "trigger.xml", r"cache is not supported with vhostuser disk"),
    ("disk-lun-options-invalid", "trigger.xml", r"rawio can be used only with device='lun'"),
    ("net-virtio-only-option", "trigger.xml",
     r"iommu driver option is only supported for virtio devices"),
    ("net-option-unsupported-for-type", "trigger.xml",
     r"<port isolated='yes'/> is not supported for network interfaces with type='direct'"),
    ("iommu-invalid", "trigger.xml",
     r"IOMMU interrupt remapping requires split I/O APIC \(ioapic driver='qemu'\)"),
    ("iommu-invalid", "trigger-no-features.xml",
     r"IOMMU interrupt remapping requires split I/O APIC \(ioapic driver='qemu'\)"),
    ("usb-disabled-conflict", "trigger.xml", r"Can't add USB input device\. USB bus is disabled"),
    ("timer-invalid", "trigger.xml", r"timer kvmclock doesn't support setting of timer tickpolicy"),
    ("hyperv-value-invalid", "trigger.xml", r"HyperV spinlock retry count must be at least 4095"),
    ("hyperv-value-invalid", "trigger-no-retries.xml",
     r"Missing required attribute 'retries' in element 'spinlocks'"),
    ("chardev-source-incomplete", "trigger.xml", r"Missing source path attribute for char device"),
    ("chardev-source-incomplete", "trigger-tcp.xml",
     r"Missing source host attribute for char device"),
    ("chardev-source-incomplete", "trigger-rng.xml",
     r"Missing source service attribute for char device"),
    ("chardev-source-incomplete", "trigger-spiceport.xml",
     r"Invalid character in source channel for char device"),
    ("chardev-reconnect-invalid", "trigger.xml",
     r"chardev reconnect is possible only for connect mode"),
    ("chardev-reconnect-invalid", "trigger-disabled.xml",
     r"chardev reconnect is possible only for connect mode"),
    ("chardev-reconnect-invalid", "trigger-no-timeout.xml",
     r"Missing required attribute 'timeout' in element 'reconnect'"),
    ("chardev-source-duplicate", "trigger.xml",
     r"only one source element is allowed for character device"),
    ("chardev-source-duplicate", "trigger-udp.xml",
     r"only two source elements are allowed for character device"),
    ("spicevmc-channel-invalid", "trigger-guestfwd.xml",
     r"spicevmc device type only supports virtio"),
    ("serial-target-address-mismatch", "trigger-usb.xml",
     r"usb-serial requires address of usb type"),
    ("console-target-invalid", "trigger.xml", r"Only the first console can be a serial port"),
    ("isa-serial-port-invalid", "trigger.xml", r"target port '1' already allocated"),
    ("graphics-listen-attribute-mismatch", "trigger.xml",
     r"graphics 'listen' attribute '0\.0\.0\.0' must match 'address' attribute of first listen"),
    ("graphics-listen-attribute-mismatch", "trigger-socket.xml",
     r"graphics 'socket' attribute '/run/vm/vnc\.sock' must match 'socket' attribute"),
    ("graphics-listen-type-invalid", "trigger-rdp.xml",
     r"listen type 'none' is not available for graphics type 'rdp'"),
    ("graphics-vnc-invalid", "trigger-connected.xml", r"VNC supports connected='keep' only"),
    ("graphics-dbus-invalid", "trigger.xml", r"D-Bus p2p with an address is not supported"),
    ("video-primary-invalid", "trigger.xml", r"Only one primary video device is supported"),
    ("video-primary-invalid", "trigger-none.xml",
     r"a 'none' video type must be the only video device defined for the domain"),
    ("video-acceleration-invalid", "trigger-rendernode.xml",
     r"unsupported rendernode accel attribute without 'vhostuser'"),
    ("video-acceleration-invalid", "trigger-vhostuser.xml",
     r"'vhostuser' driver is only supported with 'virtio' device"),
    ("video-ramfb-address", "trigger.xml", r"address not supported for video type ramfb"),
    ("input-bus-invalid", "trigger.xml", r"ps2 bus does not support tablet input device"),
    ("input-bus-invalid", "trigger-model.xml",
     r"only bus 'virtio' is supported for input model 'virtio'"),
    ("input-bus-invalid", "trigger-passthrough.xml",
     r"only bus 'virtio' is supported for 'passthrough' input devices"),
    ("input-bus-invalid", "trigger-usb-address.xml", r"Invalid address for a USB device"),
    ("audio-settings-invalid", "trigger.xml", r"fixed audio settings requires mixing engine"),
    ("audio-settings-invalid", "trigger-settings.xml",
     r"audio settings specified without fixed settings flag"),
    ("audio-id-invalid", "trigger.xml", r"no audio device with ID 2"),
    ("audio-id-invalid", "trigger-duplicate.xml", r"audio ID 1 is used multiple times"),
    ("tpm-count-invalid", "trigger-three.xml",
     r"a maximum of two TPM devices is supported, one of them being a TPM Proxy device"),
    ("tpm-external-source-invalid", "trigger.xml",
     r"only '(client|connect)' mode is supported for external TPM device"),
    ("tpm-external-source-invalid", "trigger-no-path.xml",
     r"missing socket path for external TPM device"),
    ("tpm-version-invalid", "trigger-banks.xml",
     r"<active_pcr_banks/> requires TPM version '2\.0'"),
    ("shmem-model-options-invalid", "trigger.xml", r"msi option is only supported with a server"),
    ("shmem-name-invalid", "trigger.xml", r"shmem name cannot include '/' character"),
    ("shmem-name-invalid", "trigger-dots.xml", r"shmem name cannot be equal to '\.\.'"),
    ("isa-serial-port-invalid", "trigger-port.xml",
     r"Maximum supported number of ISA serial ports is '4'"),
    ("channel-target-invalid", "trigger.xml", r"guestfwd channel only supports IPv4 addresses"),
]  # fmt: skip

DOMAIN = """<domain type='kvm'>
  <name>proof</name>
  <memory unit='GiB'>{memory}</memory>
  {top}
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
  </os>
  {middle}
  <devices>
    {devices}
  </devices>
</domain>
"""

#: Variants without a fixture of their own: (rule, XML parts, libvirt's message).
INLINE_CASES = [
    ("memory-sizes-inconsistent", {"top": "<maxMemory slots='16'/>"},
     r"(maximum memory size must be specified when specifying number of memory slots"
     r"|both maximum memory size and memory slot count must be specified)"),
    ("memory-sizes-inconsistent",
     {"memory": "1", "devices": "<memory model='dimm'><target><size unit='GiB'>2</size>"
      "</target></memory>", "top": "<maxMemory slots='4' unit='GiB'>8</maxMemory>"},
     r"Total size of memory devices exceeds the total memory size"),
    ("virtio-mem-invalid",
     {"memory": "8", "top": "<maxMemory slots='4' unit='GiB'>16</maxMemory>",
      "middle": "<cpu><numa><cell id='0' cpus='0-1' memory='4' unit='GiB'/></numa></cpu>",
      "devices": "<memory model='virtio-mem'><target><size unit='MiB'>1024</size><node>0</node>"
      "<block unit='KiB'>1024</block><requested unit='MiB'>0</requested></target></memory>"},
     r"block size too small, must be at least 2048KiB"),
    ("virtio-mem-invalid",
     {"memory": "8", "top": "<maxMemory slots='4' unit='GiB'>16</maxMemory>",
      "middle": "<cpu><numa><cell id='0' cpus='0-1' memory='4' unit='GiB'/></numa></cpu>",
      "devices": "<memory model='virtio-mem'><target><size unit='MiB'>1024</size><node>0</node>"
      "<block unit='MiB'>4</block><requested unit='MiB'>6</requested></target></memory>"},
     r"requested size must be an integer multiple of block size"),
    ("iothread-reference-invalid",
     {"top": "<iothreads>1</iothreads><cputune><iothreadsched iothreads='2' scheduler='fifo' "
      "priority='1'/></cputune>"},
     r"Cannot find 'iothread' : 2"),
    ("iothread-settings-invalid",
     {"top": "<iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_max='0'/>"
      "</iothreadids>"},
     r"thread_pool_max must be a positive integer"),
    ("iothread-settings-invalid",
     {"top": "<iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_min='5' "
      "thread_pool_max='2'/></iothreadids>"},
     r"thread_pool_min must be smaller or equal to thread_pool_max"),
    ("iothread-settings-invalid",
     {"top": "<iothreads>1</iothreads><cputune><iothreadpin iothread='1' cpuset='1'/>"
      "<iothreadpin iothread='1' cpuset='2'/></cputune>"},
     r"duplicate iothreadpin for same iothread '1'"),
    ("usb-disabled-conflict",
     {"devices": "<controller type='usb' index='0' model='none'/><hub type='usb'/>"},
     r"Can't add USB hub: USB is disabled for this domain"),
    ("usb-disabled-conflict",
     {"devices": "<controller type='usb' index='0' model='none'/>"
      "<controller type='usb' index='1' model='qemu-xhci'/>"},
     r"Can't add another USB controller: USB is disabled for this domain"),
    ("timer-invalid", {"middle": "<clock offset='utc'><timer name='pit' track='guest'/></clock>"},
     r"timer pit doesn't support setting of timer track"),
    ("hyperv-value-invalid",
     {"middle": "<features><hyperv><vendor_id state='on' value='ABCDEFGHIJKLMN'/></hyperv>"
      "</features>"},
     r"HyperV vendor_id value must not be more than 12 characters"),
    ("hyperv-value-invalid",
     {"middle": "<features><hyperv><vendor_id state='on'/></hyperv></features>"},
     r"missing 'value' attribute for HyperV feature 'vendor_id'"),
    ("hyperv-value-invalid",
     {"middle": "<features><hyperv><frobnicate state='on'/></hyperv></features>"},
     r"unsupported HyperV Enlightenment feature: frobnicate"),
    ("iommu-invalid",
     {"middle": "<features><ioapic driver='qemu'/></features>",
      "devices": "<iommu model='intel'><driver eim='on'/></iommu>"},
     r"IOMMU eim requires interrupt remapping to be enabled"),
    ("cputune-value-out-of-range", {"top": "<cputune><quota>500</quota></cputune>"},
     r"Value of cputune 'quota' must be in range \[1000, 17592186044415\]"),
]  # fmt: skip


def _findings(rule: str, data: bytes):
    doc = Document.parse(data)
    return build_linter(select=[rule]).check(doc).findings


def _assert_refused(conn, data: bytes, pattern: str) -> str:
    """libvirt refuses the XML (with schema validation) and says ``pattern``.

    Where the RelaxNG schema refuses first, the message is taken from a define
    without schema validation, which runs libvirt's parser and validators.
    """
    xml = as_test_driver(data)
    validated = define_error(conn, xml)
    assert validated is not None, "libvirt accepted XML the rule calls invalid"
    message = validated
    if "failed to validate against schema" in validated:
        message = define_error(conn, xml, validate=False) or ""
    assert re.search(pattern, message), f"libvirt said: {message!r}"
    return message


@pytest.mark.parametrize(
    "rule,fixture,pattern", FIXTURE_CASES, ids=[f"{r}/{f}" for r, f, _ in FIXTURE_CASES]
)
def test_libvirt_refuses_what_the_rule_reports(libvirt_conn, rule, fixture, pattern):  # noqa: F811
    path = RULE_FIXTURES / rule / fixture
    data = path.read_bytes()
    findings = _findings(rule, data)
    assert any(re.search(pattern, f.message) for f in findings), (
        f"{rule} does not quote libvirt's message: {[f.message for f in findings]}"
    )
    _assert_refused(libvirt_conn, data, pattern)
    linter = build_linter(select=[rule])
    if not any(f.fix is not None for f in linter.check(Document.parse(data)).findings):
        return
    fixed = fix_document(Document.parse(data, str(path)), linter, unsafe=True)
    if [f for f in fixed.remaining if f.code == findings[0].code]:
        return  # what is left has no fix; the fixed file is still refused for it
    error = define_error(libvirt_conn, as_test_driver(fixed.data))
    assert error is None, f"libvirt refuses the fixed XML: {error}"


@pytest.mark.parametrize(
    "rule,parts,pattern", INLINE_CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(INLINE_CASES)]
)
def test_libvirt_refuses_inline_variants(libvirt_conn, rule, parts, pattern):  # noqa: F811
    fields = {"memory": "4", "top": "", "middle": "", "devices": ""} | parts
    data = DOMAIN.format(**fields).encode()
    findings = _findings(rule, data)
    assert any(re.search(pattern, f.message) for f in findings), (
        f"{rule} does not quote libvirt's message: {[f.message for f in findings]}"
    )
    _assert_refused(libvirt_conn, data, pattern)


def test_fixed_memory_sizes_define_once_sizes_are_consistent(libvirt_conn):  # noqa: F811
    """The min_guarantee fix leaves the size conflict, which needs the author; fixed, it defines."""
    data = (RULE_FIXTURES / "memory-sizes-inconsistent" / "trigger.fixed.xml").read_bytes()
    assert not [f for f in _findings("memory-sizes-inconsistent", data) if f.fix]
    repaired = data.replace(
        b"<maxMemory slots='16' unit='GiB'>2</maxMemory>",
        b"<maxMemory slots='16' unit='GiB'>8</maxMemory>",
    )
    assert not _findings("memory-sizes-inconsistent", repaired)
    assert define_error(libvirt_conn, as_test_driver(repaired)) is None


#: Clean fixtures the test driver cannot judge: they rely on the QEMU driver's
#: defaults or on elements newer than libvirt 9.0.
BEYOND_TEST_DRIVER = {
    "net-virtio-only-option/clean-s390-default-model.xml",  # QEMU defaults s390 NICs to virtio
    "hyperv-value-invalid/clean-newer-features.xml",  # emsr_bitmap, xmm_input: libvirt >= 9.1
    "memory-sizes-inconsistent/clean-lxc-min-guarantee.xml",  # an LXC container, not hvm
    "vhostuser-disk-invalid/clean-vdpa.xml",  # vhostvdpa disks: libvirt >= 9.8
    "audio-id-invalid/clean-implicit.xml",  # QEMU adds the audio backend with id 1
}
CLEAN_CASES = sorted(
    (r, p.name)
    for r in {c[0] for c in FIXTURE_CASES}
    for p in (RULE_FIXTURES / r).glob("clean*.xml")
    if f"{r}/{p.name}" not in BEYOND_TEST_DRIVER
)


@pytest.mark.parametrize("rule,fixture", CLEAN_CASES)
def test_libvirt_accepts_the_clean_fixtures(libvirt_conn, rule, fixture):  # noqa: F811
    """The near-misses the rules stay silent on are indeed accepted by libvirt."""
    data = (RULE_FIXTURES / rule / fixture).read_bytes()
    xml = as_test_driver(data)
    error = define_error(libvirt_conn, xml, validate=False)
    assert error is None, f"libvirt refuses a clean fixture: {error}"
