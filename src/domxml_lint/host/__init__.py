"""The host model: a typed view of libvirt's capabilities, domain capabilities and PCI devices.

::

    from domxml_lint.host import load_host

    host = load_host("fixtures/xml/hosts/epyc-2node.xml")
    host.cell(1).pages[2048]            # 2 MiB pages configured on node 1
    host.node_of_cpu(17)                # -> 1
    host.pci_device(address).numa_node  # a <hostdev>'s device, if the snapshot has it
    host.system.ksm.merge_across_nodes  # a system fact (None when the snapshot lacks it)
    host.qemu_version                   # "8.2.0", from the libvirt connection

Loaded from files (``--host``), from a snapshot bundle, or from a live libvirt
connection (:mod:`domxml_lint.live`). Importing this package never imports
libvirt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..pci import PciAddress
    from .bundle import build_bundle, inner_documents
    from .load import ACCEPTED_KINDS, host_from_documents, load_host
    from .model import (
        CacheBank,
        CacheControl,
        Capabilities,
        CpuTopology,
        DomainCapabilities,
        GuestCaps,
        GuestDomain,
        GuestMachine,
        Host,
        HostCell,
        HostCpu,
        LibvirtInfo,
        NodeDevice,
        PciId,
    )
    from .system import HostSystem

# Names resolve on first use (PEP 562): a run that needs only ``host.system`` or
# ``host.qemu_flags`` (every run loads rules that name them) does not pay for the
# snapshot loader, the bundle writer and the model's classes (~40 ms of start-up).
_SOURCES = {
    "PciAddress": "..pci",
    "build_bundle": ".bundle",
    "inner_documents": ".bundle",
    "ACCEPTED_KINDS": ".load",
    "host_from_documents": ".load",
    "load_host": ".load",
    "HostSystem": ".system",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_SOURCES.get(name, ".model"), __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "ACCEPTED_KINDS",
    "CacheBank",
    "CacheControl",
    "Capabilities",
    "CpuTopology",
    "DomainCapabilities",
    "GuestCaps",
    "GuestDomain",
    "GuestMachine",
    "Host",
    "HostCell",
    "HostCpu",
    "HostSystem",
    "LibvirtInfo",
    "NodeDevice",
    "PciAddress",
    "PciId",
    "build_bundle",
    "host_from_documents",
    "inner_documents",
    "load_host",
]
