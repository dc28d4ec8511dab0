"""The domain as a whole: its type and driver, architecture, machine, devices and features."""

from __future__ import annotations

import re

from lxml import etree

from .._lazy import lazy
from ..document import Document
from .values import child, first_children, grandchild

Element = etree._Element

#: The libvirt driver that runs each domain type (``<domain type=...>``).
DRIVER_OF_TYPE = {
    "kvm": "qemu", "qemu": "qemu", "hvf": "qemu",
    "xen": "xen", "lxc": "lxc", "bhyve": "bhyve", "vz": "vz", "parallels": "vz", "openvz": "openvz",
    "vmware": "vmware", "hyperv": "hyperv", "vbox": "vbox", "test": "test", "ch": "ch",
    "uml": "uml", "phyp": "phyp",
}  # fmt: skip
#: Domain types that libvirt's QEMU driver handles.
QEMU_VIRT_TYPES = frozenset({"kvm", "qemu", "hvf"})
#: QEMU domain types that run on a hardware accelerator rather than TCG.
ACCELERATED_VIRT_TYPES = frozenset({"kvm", "hvf"})
#: Device models that make a device virtio (disks, NICs, controllers, ...).
VIRTIO_MODELS = frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"})
#: Machine types named with the QEMU release that introduced them: ``pc-q35-8.2``.
_VERSIONED_MACHINE = re.compile(r"^(?:pc|pc-i440fx|pc-q35|virt|pseries)-(\d+)\.(\d+)$")
#: Unversioned names QEMU resolves to its newest machine of the family.
MACHINE_ALIASES = frozenset({"pc", "q35", "virt", "pseries", "s390-ccw-virtio"})
#: The lifecycle events and the action libvirt takes when none is written.
LIFECYCLE_DEFAULTS = {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}
X86_ARCHES = frozenset({"i686", "x86_64"})
ARM_ARCHES = frozenset({"armv6l", "armv7l", "aarch64"})
PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})
S390_ARCHES = frozenset({"s390", "s390x"})
RISCV_ARCHES = frozenset({"riscv32", "riscv64"})


class DomainBase:
    """What every family of facts starts from: the document and the domain's platform."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root = doc.root

    @lazy
    def _top(self) -> dict[object, Element]:
        """The root's first child of each tag, from one pass over its children."""
        return first_children(self.root)

    def top(self, tag: str) -> Element | None:
        """The root's first child named ``tag``: ``child(root, tag)``, from a table built once
        (most facts, and many rules, start from a child of the root)."""
        return self._top.get(tag)

    @lazy
    def tags(self) -> frozenset[str]:
        """Names of every element present, to skip rules whose elements are absent.

        Namespaced elements appear as ``{uri}name`` and never match a trigger.
        """
        return frozenset([el.tag for el in self.doc.elements])

    @lazy
    def name(self) -> str | None:
        """``<name>``, stripped (None without one)."""
        element = self.top("name")
        return None if element is None else (element.text or "").strip()

    @lazy
    def uuid(self) -> str | None:
        """``<uuid>`` as 32 lowercase hex digits: libvirt reads it with or without dashes
        (``virUUIDParse``); None without one or when it is not a UUID."""
        element = self.top("uuid")
        if element is None:
            return None
        digits = "".join((element.text or "").split()).replace("-", "").lower()
        if len(digits) != 32 or any(c not in "0123456789abcdef" for c in digits):
            return None
        return digits

    @lazy
    def virt_type(self) -> str | None:
        """``<domain type=...>``: kvm, qemu, hvf, xen, lxc ..."""
        return self.root.get("type")

    @lazy
    def driver(self) -> str | None:
        """The libvirt driver that runs this domain (``qemu`` for kvm, qemu and hvf)."""
        return DRIVER_OF_TYPE.get(self.virt_type or "")

    @lazy
    def os_type(self) -> Element | None:
        return grandchild(self.root, "os", "type")

    @lazy
    def arch(self) -> str | None:
        return None if self.os_type is None else self.os_type.get("arch")

    @lazy
    def machine(self) -> str | None:
        return None if self.os_type is None else self.os_type.get("machine")

    @lazy
    def machine_version(self) -> tuple[int, int] | None:
        """The QEMU release a versioned machine type names (``pc-q35-8.2``: (8, 2))."""
        match = _VERSIONED_MACHINE.match(self.machine or "")
        return (int(match.group(1)), int(match.group(2))) if match else None

    @lazy
    def machine_is_newest(self) -> bool:
        """No machine, or an alias (``q35``, ``virt``): QEMU's newest machine of the family."""
        return not self.machine or self.machine in MACHINE_ALIASES

    @lazy
    def is_x86(self) -> bool:
        return self.arch in X86_ARCHES

    @lazy
    def is_q35(self) -> bool | None:
        """Whether the machine is q35 (as ``qemuDomainIsQ35``); None when no machine is given."""
        machine = self.machine
        if not machine:
            return None
        return machine == "q35" or machine.startswith("pc-q35")

    @lazy
    def is_arm_virt(self) -> bool:
        """An ARM ``virt`` machine, as ``qemuDomainIsARMVirt`` tests it."""
        machine = self.machine or ""
        return self.arch in ARM_ARCHES and (machine == "virt" or machine.startswith("virt-"))

    @lazy
    def is_i440fx(self) -> bool:
        """An i440FX PC machine, as ``qemuDomainIsI440FX`` tests it."""
        machine = self.machine or ""
        return self.is_x86 and (
            machine == "pc" or machine.startswith(("pc-0.", "pc-1.", "pc-i440fx-", "rhel"))
        )

    @lazy
    def is_pseries(self) -> bool:
        """``qemuDomainIsPSeries``; without a machine type QEMU's ppc64 default is pseries."""
        machine = self.machine or "pseries"
        return self.arch in PPC64_ARCHES and (
            machine == "pseries" or machine.startswith("pseries-")
        )

    @lazy
    def is_s390(self) -> bool:
        return self.arch in S390_ARCHES

    @lazy
    def is_s390_ccw(self) -> bool:
        """``qemuDomainIsS390CCW``."""
        return self.is_s390 and (self.machine or "").startswith("s390-ccw")

    @lazy
    def is_riscv_virt(self) -> bool:
        """``qemuDomainIsRISCVVirt``."""
        machine = self.machine or ""
        return self.arch in RISCV_ARCHES and (machine == "virt" or machine.startswith("virt-"))

    @lazy
    def devices(self) -> Element | None:
        return self.top("devices")

    @lazy
    def _devices_by_tag(self) -> dict[str, tuple[Element, ...]]:
        grouped: dict[str, list[Element]] = {}
        if self.devices is not None:
            for device in self.devices:
                if isinstance(device.tag, str):
                    grouped.setdefault(device.tag, []).append(device)
        return {tag: tuple(children) for tag, children in grouped.items()}

    def device_elements(self, tag: str) -> tuple[Element, ...]:
        """Direct children of ``<devices>`` named ``tag`` (grouped once per document)."""
        return self._devices_by_tag.get(tag, ())

    @lazy
    def lifecycle(self) -> dict[str, str]:
        """``on_poweroff``, ``on_reboot``, ``on_crash``: the action written, else libvirt's
        default (destroy, restart, destroy)."""
        actions = {}
        for tag, default in LIFECYCLE_DEFAULTS.items():
            element = self.top(tag)
            actions[tag] = default if element is None else (element.text or "").strip()
        return actions

    @lazy
    def emulator(self) -> str | None:
        """``<devices><emulator>``, stripped: the QEMU binary (None: libvirt picks one)."""
        element = child(self.devices, "emulator") if self.devices is not None else None
        if element is None:
            return None
        return (element.text or "").strip() or None

    @lazy
    def features(self) -> Element | None:
        return self.top("features")

    def feature_state(self, name: str) -> str | None:
        """``<features><name>`` as libvirt reads it: 'on', 'off', or None when absent.

        A feature element without ``state`` (``<acpi/>``, ``<smm/>``) means on.
        """
        if self.features is None:
            return None
        element = child(self.features, name)
        if element is None:
            return None
        return element.get("state", "on")
