"""Peripheral facts (libvirt's parse and QEMU defaults) and the DX9 rules that follow releases."""

from __future__ import annotations

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts
from domxml_lint.host import load_host
from helpers import HOSTS
from samples import domain

EPYC = HOSTS / "epyc-2node.xml"


def facts_of(devices: str, *, arch: str = "x86_64", machine: str | None = "q35", body: str = ""):
    text = domain(body, devices=devices, arch=arch, machine=machine)
    return DomainFacts(Document.parse(text.encode()))


def messages(text: str, rule: str, **kwargs) -> list[str]:
    doc = Document.parse(text.encode())
    return [f.message for f in build_linter(select=[rule], **kwargs).check(doc).findings]


@pytest.mark.parametrize(
    "arch,machine,target_type,model",
    [
        ("x86_64", "q35", "isa-serial", "isa-serial"),
        ("ppc64", "pseries", "spapr-vio-serial", "spapr-vty"),
        ("aarch64", "virt", "system-serial", "pl011"),
        ("riscv64", "virt", "system-serial", "16550a"),
        ("loongarch64", "virt", "system-serial", "16550a"),
        ("s390x", "s390-ccw-virtio", "sclp-serial", "sclpconsole"),
        ("aarch64", "sbsa-ref", None, None),
    ],
)
def test_serial_target_defaults_follow_the_machine(arch, machine, target_type, model):
    # isa-serial, as written, is libvirt's historical spelling of "the default".
    for serial in ("<serial type='pty'/>", "<serial><target type='isa-serial'/></serial>"):
        (chardev,) = facts_of(serial, arch=arch, machine=machine).chardevs
        assert (chardev.target_type, chardev.target_model) == (target_type, model)


def test_chardev_source_parts_and_defaults():
    facts = facts_of(
        "<serial/>"
        "<channel type='udp'><source mode='bind' host='::' service='1'/>"
        "<source host='h' service='2'/><target type='virtio' name='a'/></channel>"
        "<channel type='unix'><source mode='bind'/><target type='virtio' name='b'/></channel>"
        "<redirdev bus='usb' type='dbus'/>"
    )
    serial, udp, unix = facts.chardevs
    assert serial.source.type == "pty"
    assert (udp.source.host, udp.source.service) == ("h", "2")  # the connect-mode source
    assert unix.source.path is None and unix.source.listen
    (redirdev,) = facts.other_chr_sources
    assert redirdev.channel == "org.qemu.usbredir"


@pytest.mark.parametrize(
    "path,generated",
    [
        ("/var/lib/libvirt/qemu/channel/target/domain-1-vm/org.qemu.guest_agent.0", True),
        ("/var/lib/libvirt/qemu/channel/target/vm.org.qemu.guest_agent.0", True),
        ("/var/lib/libvirt/qemu/channel/target/guest_agent", False),
        ("/run/vm/org.qemu.guest_agent.0", False),
    ],
)
def test_generated_channel_paths_are_dropped_as_libvirt_does(path, generated):
    devices = (
        f"<channel type='unix'><source mode='connect' path='{path}'/>"
        "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    )
    (channel,) = facts_of(devices).chardevs
    assert (channel.source.path is None) is generated
    assert channel.source.listen is generated


def test_the_primary_video_is_the_first_marked_one_else_the_first():
    marked = facts_of(
        "<video><model type='vga'/></video><video><model type='qxl' primary='yes'/></video>"
    )
    assert [v.primary for v in marked.videos] == [False, True]
    plain = facts_of("<video><model type='vga'/></video><video><model type='qxl'/></video>")
    assert [v.primary for v in plain.videos] == [True, False]


def test_tpm_defaults_are_the_qemu_drivers():
    x86 = facts_of("<tpm><backend type='emulator'/></tpm>").tpms[0]
    assert (x86.model, x86.version, x86.written_version) == ("tpm-tis", "1.2", None)
    ppc = facts_of("<tpm><backend type='emulator'/></tpm>", arch="ppc64", machine="pseries")
    assert (ppc.tpms[0].model, ppc.tpms[0].version) == ("tpm-spapr", "2.0")


def test_shmem_size_defaults_to_bytes():
    facts = facts_of(
        "<shmem name='a'><size>4096</size></shmem><shmem name='b'><size unit='M'>2</size></shmem>"
    )
    assert [s.size_bytes for s in facts.shmems] == [4096, 2 * 1024 * 1024]


def test_input_default_buses():
    facts = facts_of(
        "<input type='mouse'/><input type='tablet'/>"
        "<input type='passthrough'/><input type='evdev'/>"
    )
    assert [i.effective_bus for i in facts.inputs] == ["ps2", "usb", "virtio", None]


def test_messages_follow_libvirt_9_0_when_targeted():
    tpm = domain(
        devices="<tpm model='tpm-tis'><backend type='external'>"
        "<source type='unix' mode='bind' path='/run/s.sock'/></backend></tpm>"
    )
    assert messages(tpm, "tpm-external-source-invalid") == [
        "only 'connect' mode is supported for external TPM device"
    ]
    assert messages(tpm, "tpm-external-source-invalid", libvirt_version="9.0.0") == [
        "only 'client' mode is supported for external TPM device"
    ]
    shmem = domain(devices="<shmem name='s'><model type='ivshmem-plain'/><size>512</size></shmem>")
    assert messages(shmem, "shmem-size-invalid", libvirt_version="9.0.0") == [
        "shmem size must be at least 1 MiB (1024 KiB)"
    ]
    blob = domain(devices="<video><model type='virtio' blob='on'/></video>")
    assert messages(blob, "video-blob-invalid")
    assert not messages(blob, "video-blob-invalid", libvirt_version="9.1.0")


def test_device_caps_answer_for_a_machine_the_snapshot_does_not_list():
    old_machine = domain(devices="<video><model type='xen'/></video>", machine="pc-i440fx-2.12")
    found = messages(old_machine, "video-model-unsupported", host=load_host(EPYC))
    assert found == ["domain configuration does not support video model 'xen'"]
