"""Facts of network interfaces and host devices, read as libvirt reads them."""

from __future__ import annotations

import pytest

from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts, same_host_device
from domxml_lint.facts.network import address_family, parse_mac
from samples import domain


def _facts(devices: str, **kwargs) -> DomainFacts:
    return DomainFacts(Document.parse(domain(devices=devices, **kwargs).encode(), "t.xml"))


@pytest.mark.parametrize(
    "text,formatted,multicast",
    [
        ("52:54:00:AB:cd:01", "52:54:00:ab:cd:01", False),
        ("01:00:5e:00:00:01", "01:00:5e:00:00:01", True),
        ("3:4:5:6:7:8", "03:04:05:06:07:08", True),
        ("52-54-00-12-34-56", "52:54:00:12:34:56", False),
        ("52:54:00:12:34", None, False),
        ("52:54:00:12:34:zz", None, False),
    ],
)
def test_mac_is_read_as_virMacAddrParse_reads_it(text, formatted, multicast):
    mac = parse_mac(text)
    assert mac is not None
    assert (mac.formatted, mac.multicast) == (formatted, multicast)


def test_ip_family_follows_the_family_attribute_else_the_address():
    assert address_family("10.0.0.1", None) == "ipv4"
    assert address_family("fd00::1", None) == "ipv6"
    assert address_family("fd00::1", "ipv4") is None  # libvirt cannot parse it as IPv4
    assert address_family("not-an-ip", None) is None


def test_interface_without_type_is_user_and_models_match_case_insensitively():
    facts = _facts("<interface><model type='VirtIO'/></interface>")
    (iface,) = facts.interfaces
    assert iface.type is None and iface.net_type == "user"
    assert iface.is_virtio and iface.model_name == "virtio"


def test_interface_ips_are_split_into_host_and_guest_side():
    facts = _facts(
        "<interface type='ethernet'><source><ip address='10.0.0.1' prefix='40'/>"
        "<route address='10.1.0.0' prefix='16' gateway='10.0.0.2'/></source>"
        "<ip address='fd00::5' prefix='64'/></interface>"
    )
    (iface,) = facts.interfaces
    (host,) = iface.host_ips
    assert (host.family, host.prefix, host.prefix_valid) == ("ipv4", 40, False)
    assert len(iface.host_routes) == 1
    (guest,) = iface.guest_ips
    assert (guest.family, guest.prefix_valid) == ("ipv6", True)


@pytest.mark.parametrize(
    "arch,machine,model",
    [
        ("x86_64", "q35", "rtl8139"),
        ("aarch64", "virt", "virtio"),
        ("armv7l", "vexpress-a9", "lan9118"),
        ("armv7l", "versatilepb", "smc91c111"),
        ("s390x", "s390-ccw-virtio", "virtio"),
        ("riscv64", "virt", "virtio"),
    ],
)
def test_default_net_model_is_qemus_per_machine(arch, machine, model):
    facts = _facts("<interface type='user'/>", arch=arch, machine=machine)
    assert facts.default_net_model == model
    assert facts.effective_net_model(facts.interfaces[0]) == model


def test_vdpa_defaults_to_virtio_and_hostdev_interfaces_have_no_model():
    facts = _facts(
        "<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>"
        "<interface type='hostdev'><source><address type='pci' bus='1' slot='0'/></source>"
        "</interface>",
        machine="q35",
    )
    vdpa, hostdev = facts.interfaces
    assert facts.effective_net_model(vdpa) == "virtio"
    assert facts.effective_net_model(hostdev) is None


def test_host_devices_hold_hostdev_interfaces_first():
    facts = _facts(
        "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
        "<product id='0xbeef'/></source></hostdev>"
        "<interface type='hostdev'><source><address type='pci' domain='0' bus='0x06' "
        "slot='0x12' function='0x1'/></source></interface>"
        "<interface type='hostdev'><source><vendor id='0x1234'/><product id='0x1'/></source>"
        "</interface>"
    )
    pci_iface, usb_iface, usb = facts.host_devices
    assert (pci_iface.is_interface, pci_iface.type, str(pci_iface.pci)) == (
        True,
        "pci",
        "0000:06:12.1",
    )
    assert (usb_iface.type, usb_iface.usb_product) == ("usb", 1)
    assert (usb.is_interface, usb.usb_vendor, usb.usb_product) == (False, 0x1234, 0xBEEF)


def test_usb_match_is_asymmetric_as_in_libvirt():
    by_ids = "<source><vendor id='0x1234'/><product id='0xbeef'/></source>"
    by_ids_and_bus = (
        "<source><vendor id='0x1234'/><product id='0xbeef'/><address bus='1' device='3'/></source>"
    )
    facts = _facts(
        f"<hostdev mode='subsystem' type='usb'>{by_ids}</hostdev>"
        f"<hostdev mode='subsystem' type='usb'>{by_ids_and_bus}</hostdev>"
    )
    first, second = facts.host_devices
    assert same_host_device(first, second)  # first names no bus: vendor and product
    assert not same_host_device(second, first)  # second names a bus: bus and device


def test_iscsi_targets_without_a_lun_mean_lun_0_and_mdev_uuids_ignore_case():
    facts = _facts(
        "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.x:t'>"
        "<host name='h'/></source></hostdev>"
        "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.x:t/0'>"
        "<host name='h' port='0'/></source></hostdev>"
        "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
        "<address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>"
        "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
        "<address uuid='53764D0E85A042B4AF5C2046B460B1DC'/></source></hostdev>"
    )
    one, two, three, four = facts.host_devices
    assert one.iscsi_path == "iqn.x:t/0"
    assert same_host_device(one, two)
    assert same_host_device(three, four)
    assert not same_host_device(one, three)


def test_mdev_models_follow_the_architecture():
    assert _facts("", machine="q35").mdev_models_available == {"vfio-pci"}
    s390 = _facts("", arch="s390x", machine="s390-ccw-virtio")
    assert s390.mdev_models_available == {"vfio-pci", "vfio-ccw", "vfio-ap"}
    assert _facts("", os="<os><type>hvm</type></os>").mdev_models_available is None
