"""Every capabilities, domain capabilities and node-device file of the shared corpus loads.

They come from libvirt's own test suite, on every architecture it has:
x86_64, aarch64, ppc64, s390x, riscv, loongarch and more.
"""

from __future__ import annotations

from domxml_lint.errors import InputError
from domxml_lint.host import load_host

REQUIRED_ARCH_PREFIXES = ("x86_64", "aarch64", "ppc64", "s390x", "riscv", "loongarch")


def _load_all(directory):
    files = sorted(directory.glob("*.xml"))
    assert files, f"no host files in {directory}"
    hosts, failures = {}, []
    for path in files:
        try:
            hosts[path.name] = load_host(path)
        except InputError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
    return hosts


def test_every_capabilities_file_loads(corpus):
    hosts = _load_all(corpus / "capabilities")
    assert len(hosts) >= 28
    for name, host in hosts.items():
        caps = host.capabilities
        assert caps is not None, name
        raw_cells = caps.raw.findall("host/topology/cells/cell")
        assert len(caps.cells) == len(raw_cells), name
        for cell, raw in zip(caps.cells, raw_cells, strict=True):
            declared = raw.find("cpus")
            if declared is not None and declared.get("num") is not None:
                assert len(cell.cpus) == int(declared.get("num")), f"{name} cell {cell.id}"
            assert all(caps.node_of_cpu(cpu.id) == cell.id for cpu in cell.cpus), name
    arches = {h.capabilities.arch for h in hosts.values()}
    for prefix in REQUIRED_ARCH_PREFIXES:
        assert any(a and a.startswith(prefix) for a in arches), f"no {prefix} capabilities"
    assert sum(1 for h in hosts.values() if h.has_numa) >= 10
    assert sum(1 for h in hosts.values() if h.has_cache_banks) >= 5


def test_every_domain_capabilities_file_loads(corpus):
    hosts = _load_all(corpus / "domaincaps")
    assert len(hosts) >= 91
    for name, host in hosts.items():
        (caps,) = host.domain_capabilities
        assert caps.virt_type and caps.arch, name
        raw_max = caps.raw.find("vcpu")
        assert caps.max_vcpus == (None if raw_max is None else int(raw_max.get("max"))), name
    arches = {h.domain_capabilities[0].arch for h in hosts.values()}
    for prefix in REQUIRED_ARCH_PREFIXES:
        assert any(a.startswith(prefix) for a in arches), f"no {prefix} domain capabilities"
    virt_types = {h.domain_capabilities[0].virt_type for h in hosts.values()}
    assert {"kvm", "qemu", "hvf", "xen", "bhyve"} <= virt_types


def test_every_node_device_file_loads(corpus):
    hosts = _load_all(corpus / "nodedev")
    assert len(hosts) >= 104
    pci_files = 0
    for name, host in hosts.items():
        is_pci = host.capabilities is None and bool(host.node_devices)
        assert is_pci or len(host.other_devices) == 1, name
        for address, device in host.node_devices.items():
            pci_files += 1
            assert (
                device.address == address and device.raw.find("capability[@type='pci']") is not None
            )
    assert pci_files >= 20


def test_corpus_pci_files_of_one_device_merge_or_conflict(corpus):
    nodedev = corpus / "nodedev"
    # libvirt's schema test and its round-trip output of one device agree: they merge.
    same = load_host(
        nodedev / "nodedevschemadata__pci_1002_71c4.xml",
        nodedev / "nodedevxml2xmlout__pci_1002_71c4.xml",
    )
    assert len(same.node_devices) == 1 and len(same.sources) == 2
