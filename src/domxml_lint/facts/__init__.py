"""DomainFacts: what a domain definition says, derived once per document.

Rules read facts; they never re-parse strings that facts already parsed. Every
part is computed on first use and cached, so a rule that does not run costs
nothing. Facts never raise on bad input: a value libvirt would refuse becomes
None (or a :class:`CpusetRef` carrying an error) for rules to report.

The facts come in families, one module each, so that each stays small:

- :mod:`.domain`: type and driver, arch, machine, devices, features (the base of all);
- :mod:`.cpu`: vCPUs, ``<cpu>``, topology, pins and schedulers;
- :mod:`.numa`: guest NUMA cells and ``<numatune>``;
- :mod:`.memory`: sizes, backing, huge pages, memtune, memory devices;
- :mod:`.storage`, :mod:`.iothreads`, :mod:`.network`, :mod:`.devices`: devices;
- :mod:`.hostdevs`: ``<hostdev>`` and ``<interface type='hostdev'>`` sources;
- :mod:`.platform`: clock and timers, Hyper-V, the guest OS;
- :mod:`.os`: firmware, loader, NVRAM and boot order; :mod:`.features`: ``<features>``;
- :mod:`.peripherals`: chardevs, graphics, video, input, sound and audio, TPM, shmem;
- :mod:`.misc_devices`: watchdog, panic, RNG, vsock, balloon, pstore, crypto, filesystems ...;
- :mod:`.domain_settings`: security labels, sysinfo, launch security, lifecycle, qemu namespace;
- :mod:`.addresses`: device addresses, controllers (written and implicit), PCI buses.

:class:`DomainFacts` joins them. A family that reads another family's facts
derives from it (``NumaFacts(CpuFacts)``), so the dependencies are explicit.
"""

from __future__ import annotations

from .._lazy import lazy
from .addresses import AddressFacts, BusController, DeviceAddress, PciBus, PciDevice
from .cpu import (
    Cpu,
    CpuFacts,
    CpuFeature,
    Cputune,
    MaxPhysAddr,
    NumaCell,
    Pin,
    ThreadSched,
    Topology,
    VcpuEntry,
    Vcpus,
    VcpuState,
)
from .devices import VIRTIO_SCSI_MODELS, Controller, DeviceFacts
from .domain import ACCELERATED_VIRT_TYPES, QEMU_VIRT_TYPES, VIRTIO_MODELS, DomainBase
from .domain_settings import DomainSettingsFacts
from .features import FeatureFacts
from .hostdevs import HostdevFacts, HostDevice, same_host_device
from .iothreads import MAX_IOTHREADS, IOThreadFacts, IOThreadId
from .memory import (
    HugePage,
    HugepageRegion,
    MemoryBacking,
    MemoryDevice,
    MemoryFacts,
    Memtune,
    page_kib,
)
from .misc_devices import MiscDeviceFacts
from .network import Interface, MacAddress, NetIp
from .numa import (
    GuestNuma,
    Memnode,
    NumaCellCache,
    NumaCellDetail,
    NumaInterconnect,
    NumaSibling,
    Numatune,
    NumatuneMemory,
)
from .os import DeviceBoot, Loader, Nvram, OsFacts
from .peripherals import PeripheralFacts
from .platform import Hyperv, HypervFeature, PlatformFacts, Timer
from .storage import DIRECT_CACHE_MODES, Disk, StorageFacts
from .values import CpusetRef, MemorySize, child, child_text, cpuset_ref, grandchild

__all__ = [
    "ACCELERATED_VIRT_TYPES", "AddressFacts", "BusController", "DeviceAddress", "PciBus",
    "PciDevice", "DIRECT_CACHE_MODES", "MAX_IOTHREADS", "QEMU_VIRT_TYPES",
    "VIRTIO_MODELS", "VIRTIO_SCSI_MODELS",
    "Controller", "Cpu", "CpuFeature", "CpusetRef", "Cputune", "DeviceBoot", "Disk",
    "DomainBase", "DomainFacts", "GuestNuma", "HostDevice", "HugePage", "HugepageRegion",
    "Hyperv", "HypervFeature", "IOThreadId", "Interface", "Loader", "MacAddress",
    "MaxPhysAddr", "MemoryBacking", "MemoryDevice", "MemorySize", "Memnode", "Memtune",
    "NetIp", "NumaCell", "NumaCellCache", "NumaCellDetail", "NumaInterconnect", "NumaSibling",
    "Numatune", "NumatuneMemory", "Nvram", "Pin", "ThreadSched", "Timer", "Topology",
    "VcpuEntry", "VcpuState", "Vcpus", "child", "child_text", "grandchild", "page_kib",
    "same_host_device",
]  # fmt: skip

_CPUTUNE_SETS = (
    ("vcpusched", "vcpus"),
    ("iothreadsched", "iothreads"),
    ("cachetune", "vcpus"),
    ("memorytune", "vcpus"),
)


class DomainFacts(
    MemoryFacts,
    AddressFacts,
    StorageFacts,
    IOThreadFacts,
    HostdevFacts,
    DeviceFacts,
    PlatformFacts,
    OsFacts,
    FeatureFacts,
    PeripheralFacts,
    MiscDeviceFacts,
    DomainSettingsFacts,
    CpuFacts,
    DomainBase,
):
    """Everything rules need to know about one domain, derived lazily and once."""

    @lazy
    def cpusets(self) -> tuple[CpusetRef, ...]:
        """Every cpuset/nodeset/vcpus attribute in the document, parsed once."""
        refs: list[CpusetRef | None] = [self.vcpus.cpuset]
        tags = self.tags
        if "cputune" in tags and self.cputune is not None:
            tune = self.cputune
            refs += [p.cpuset for p in (*tune.vcpupins, *tune.emulatorpins, *tune.iothreadpins)]
            for tag, attribute in _CPUTUNE_SETS:
                refs += [cpuset_ref(el, attribute) for el in tune.element.iterchildren(tag)]
        if "numatune" in tags and self.numatune is not None:
            if self.numatune.memory is not None:
                refs.append(self.numatune.memory.nodeset)
            refs += [m.nodeset for m in self.numatune.memnodes]
        if "page" in tags and self.memory_backing is not None:
            refs += [p.nodeset for p in self.memory_backing.pages]
        if "cell" in tags:
            refs += [c.cpus for c in self.numa_cells]
        return tuple(r for r in refs if r is not None)
