"""The host model read from libvirt's own XML: exact values from known documents."""

from __future__ import annotations

import pytest

from domxml_lint.host import (
    CacheBank,
    CacheControl,
    CpuTopology,
    HostCpu,
    PciId,
    load_host,
)
from domxml_lint.pci import PciAddress
from helpers import HOSTS

EPYC = HOSTS / "epyc-2node.xml"
TEST_DEFAULT = HOSTS / "test-default.xml"


# -- the committed snapshots -----------------------------------------------------------------


def test_epyc_cells_cpus_and_pages():
    host = load_host(EPYC)
    caps = host.capabilities
    assert (caps.arch, caps.vendor, caps.model) == ("x86_64", "AMD", "EPYC-Rome")
    assert caps.topology == CpuTopology(sockets=1, dies=1, clusters=1, cores=8, threads=2)
    assert caps.page_sizes_kib == (4, 2048, 1048576)
    assert caps.base_page_kib == 4 and caps.huge_page_sizes_kib == (2048, 1048576)
    assert [c.id for c in host.cells] == [0, 1]
    node0, node1 = host.cells
    assert node0.cpu_ids == frozenset(range(0, 8)) | frozenset(range(16, 24))
    assert node1.cpu_ids == frozenset(range(8, 16)) | frozenset(range(24, 32))
    assert host.cpu_ids == frozenset(range(32))
    assert dict(node0.pages) == {4: 12534026, 2048: 4096, 1048576: 8}
    assert node1.huge_pages_kib(1048576) == 8 * 1048576
    assert node0.huge_pages_kib(64) is None
    assert dict(node0.distances) == {0: 10, 1: 32}
    assert node0.memory_kib == 66913320
    assert caps.cpu(17) == HostCpu(
        id=17, socket_id=0, die_id=0, cluster_id=0, core_id=1, siblings=frozenset({1, 17}), node=0
    )
    assert [caps.node_of_cpu(i) for i in (0, 15, 16, 31, 32)] == [0, 1, 0, 1, None]
    assert host.cell(2) is None and host.node_ids == frozenset({0, 1})
    assert caps.iommu is True
    assert "invtsc" in caps.features and "vmx" not in caps.features


def test_epyc_cache_banks_and_resctrl():
    banks = load_host(EPYC).capabilities.cache_banks
    assert len(banks) == 8
    assert banks[5] == CacheBank(
        id=5,
        level=3,
        type="both",
        size_kib=16384,
        cpus=frozenset({10, 11, 26, 27}),
        controls=(
            CacheControl(granularity_kib=1024, min_kib=1024, type="both", max_allocations=16),
        ),
    )


def test_epyc_domain_capabilities_by_machine_alias():
    host = load_host(EPYC)
    q35 = host.domain_caps_for("kvm", "x86_64", "q35")
    assert q35 is not None and q35.machine == "pc-q35-8.2" and q35.max_vcpus == 1024
    assert host.domain_caps_for("kvm", None, "pc").machine == "pc-i440fx-8.2"
    assert host.domain_caps_for("kvm", "x86_64", "pc-q35-8.2") is q35
    assert host.domain_caps_for("qemu", "x86_64", "q35") is None  # no TCG document
    assert host.domain_caps_for("kvm", "x86_64", None) is None  # two candidates: unknown
    assert host.domain_caps_for("kvm", "x86_64", "pc-q35-2.0") is None
    assert host.max_vcpus("kvm", "x86_64", "q35") == 1024
    # Without domain capabilities for it, the guest machine list still knows maxCpus.
    assert host.max_vcpus("qemu", "x86_64", "q35") == 1024
    assert host.max_vcpus("kvm", "x86_64", "isapc") == 1
    assert q35.disk_buses == frozenset({"fdc", "scsi", "virtio", "usb", "sata"})
    assert q35.memory_backing_sources == frozenset({"file", "anonymous", "memfd"})
    assert "avic" in q35.hyperv_features and q35.iothreads is True
    assert q35.features["sev"] is False and q35.features["vmcoreinfo"] is True
    assert q35.enum("devices/tpm", "model") == frozenset({"tpm-tis", "tpm-crb"})
    assert q35.enum("devices/tpm", "nosuch") is None and q35.enum("devices/nosuch", "x") is None
    assert q35.supported("features/sgx") is False


def test_epyc_pci_devices_on_both_nodes():
    host = load_host(EPYC)
    nodes = {str(a): d.numa_node for a, d in host.node_devices.items()}
    assert nodes == {
        "0000:21:00.0": 0,
        "0000:21:00.1": 0,
        "0000:21:10.0": 0,
        "0000:41:00.0": 0,
        "0000:c1:00.0": 1,
        "0000:c2:00.0": 1,
    }
    vf = host.pci_device(PciAddress(0, 0x21, 0x10, 0))
    assert vf.physical_function == PciAddress(0, 0x21, 0, 0)
    assert vf.vendor == PciId(0x8086, "Intel Corporation") and vf.driver == "vfio-pci"
    pf = host.pci_device(PciAddress(0, 0x21, 0, 0))
    assert pf.virtual_functions == (vf.address,) and pf.iommu_group == 20
    assert pf.pci_class == "0x020000"
    assert host.pci_device(PciAddress(0, 0x99, 0, 0)) is None
    assert host.pci_device(None) is None


def test_test_driver_snapshot():
    host = load_host(TEST_DEFAULT)
    caps = host.capabilities
    assert caps.arch == "i686" and caps.page_sizes_kib == (4, 8, 2048, 1048576)
    assert [(c.id, sorted(c.cpu_ids), c.memory_kib) for c in host.cells] == [
        (0, list(range(8)), 2097152),
        (1, list(range(8, 16)), 4194304),
    ]
    assert {c.socket_id for c in host.cells[1].cpus} == {1}
    assert dict(host.cells[1].pages) == {8: 524288, 2048: 0, 1048576: 0}
    assert caps.default_hugepage_kib == 2048
    assert caps.guests[0].domain_types == frozenset({"test"})
    assert not host.has_domain_capabilities and not host.has_node_devices
    assert host.domain_caps_for("test", "i686", None) is None


# -- corpus documents with known content -----------------------------------------------------


def test_resctrl_cdp_controls(corpus):
    bank = load_host(
        corpus / "capabilities" / "vircaps-x86_64-resctrl-cdp.xml"
    ).capabilities.cache_banks[1]
    assert bank.cpus == frozenset(range(6, 12)) and bank.size_kib == 15 * 1024
    assert [(c.type, c.granularity_kib, c.min_kib, c.max_allocations) for c in bank.controls] == [
        ("code", 768, None, 8),
        ("data", 768, None, 8),
    ]


def test_dies_clusters_and_smt_siblings(corpus):
    dies = load_host(corpus / "capabilities" / "vircaps-x86_64-basic-dies.xml").capabilities
    assert {(c.socket_id, c.die_id) for c in dies.cells[0].cpus} == {
        (s, d) for s in (0, 1) for d in (0, 1, 2)
    }
    clusters = load_host(
        corpus / "capabilities" / "vircaps-aarch64-basic-clusters.xml"
    ).capabilities
    cpu = clusters.cpu(5)
    assert (cpu.socket_id, cpu.cluster_id, cpu.core_id, cpu.siblings) == (
        3180,
        256,
        256,
        frozenset({4, 5}),
    )


def test_memory_only_cell_and_missing_sections(corpus):
    hmat = load_host(corpus / "capabilities" / "vircaps-x86_64-hmat.xml")
    assert hmat.cell(1).cpus == () and hmat.cell(1).memory_kib == 2097152
    assert hmat.node_of_cpu(0) == 0
    bare = load_host(corpus / "capabilities" / "caps.x86_64.xml")
    assert bare.capabilities.cells == () and bare.has_numa is False
    assert bare.cpu_ids is None and bare.node_ids is None  # unknown, not "no CPUs"
    assert bare.page_sizes_kib is None and bare.default_hugepage_kib is None
    assert bare.capabilities.topology is None and bare.capabilities.iommu is False
    assert bare.capabilities.guests[0].domain_types == frozenset({"qemu", "kvm"})
    # A cell without <pages> and CPUs without topology attributes.
    old = load_host(corpus / "capabilities" / "caps-test3.xml").capabilities
    assert dict(old.cell(1).pages) == {} and old.cpu(1).socket_id is None
    assert old.cpu(1).siblings == frozenset() and old.iommu is None
    assert old.page_sizes_kib == (4, 2048, 1048576)


def test_guest_machines_max_cpus_and_aliases(corpus):
    caps = load_host(corpus / "capabilities" / "caps-qemu-kvm.xml").capabilities
    i686 = caps.guests_for("i686")[0]
    assert i686.canonical_machine("pc", "kvm") == "pc-0.11"
    assert i686.machine("isapc").max_cpus == 1
    assert caps.max_guest_cpus("kvm", "i686", "pc") == 255
    assert caps.max_guest_cpus("kvm", "sparc", "pc") is None


def test_domain_capabilities_sections_absent_or_unsupported(corpus):
    empty = load_host(corpus / "domaincaps" / "empty.xml").domain_capabilities[0]
    assert empty.max_vcpus is None and empty.iothreads is None
    assert empty.cpu_modes == frozenset()  # every mode supported='no'
    assert empty.disk_buses is None  # <devices> says nothing about disks
    assert empty.hyperv_features is None and empty.memory_backing_sources is None
    host = load_host(corpus / "domaincaps" / "bhyve_basic.x86_64.xml")
    bhyve = host.domain_capabilities[0]
    assert bhyve.machine is None and bhyve.disk_buses == frozenset({"virtio", "sata"})
    assert bhyve.disk_models == frozenset() and bhyve.enum("devices/hostdev", "mode") == frozenset()
    assert host.domain_caps_for("bhyve", "x86_64", "anything") is bhyve  # no machine: matches


def test_node_devices_numa_class_and_ids(corpus):
    nodedev = corpus / "nodedev"
    gpu = load_host(nodedev / "nodedevschemadata__pci_1002_71c4.xml")
    (device,) = gpu.node_devices.values()
    assert device.address == PciAddress(0, 1, 0, 0) and device.numa_node == 1
    assert device.vendor == PciId(0x1002, "ATI Technologies Inc") and device.iommu_group is None
    vfs = load_host(nodedev / "nodedevschemadata__pci_0000_02_10_7_sriov_pf_vfs_all.xml")
    (vf,) = vfs.node_devices.values()
    assert vf.pci_class is None and vf.physical_function == PciAddress(0, 2, 0, 1)
    assert len(vf.virtual_functions) == 4 and vf.iommu_group_addresses == (
        PciAddress(0, 2, 0x10, 7),
    )
    no_numa = load_host(nodedev / "pci_82579LM_network_adapter.xml")
    assert next(iter(no_numa.node_devices.values())).numa_node is None


@pytest.mark.parametrize(
    "name",
    [
        "nodedevschemadata__usb_device_1d6b_1_0000_00_1d_0.xml",
        "mdev_3627463d_b7f0_4fea_b468_f1da537d301b_inactive.xml",
        "ccw_0_0_10000-invalid.xml",
    ],
)
def test_non_pci_devices_load_but_are_not_indexed(corpus, name):
    host = load_host(corpus / "nodedev" / name)
    assert host.node_devices == {} and len(host.other_devices) == 1
