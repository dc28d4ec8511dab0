"""The guest's ``<os>``: firmware selection, loader and NVRAM, boot devices and boot order.

Read as libvirt's parser reads them (``virDomainDefParseBootOptions`` and its helpers
in src/conf/domain_conf.c): libvirt builds one loader definition when either
``<loader>`` or ``<nvram>`` is present, takes the first of each, and reads
per-device ``<boot order>`` from disks, interfaces, host devices, redirected USB
devices and filesystems.
"""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .domain import DomainBase
from .values import child

Element = etree._Element

#: Devices whose ``<boot order>`` libvirt reads (VIR_DOMAIN_DEF_PARSE_ALLOW_BOOT).
BOOTABLE_DEVICES = ("disk", "interface", "hostdev", "redirdev", "filesystem")


class Nvram(NamedTuple):
    """``<os><nvram>``: the UEFI variable store."""

    element: Element
    #: ``template=``: the file libvirt copies a missing store from.
    template: str | None
    format: str | None
    #: ``type=`` (file, block, network ...); None for the old style, a path as text.
    source_type: str | None
    #: The old style's path (the element's text); None when empty.
    path: str | None
    #: ``<source>`` of the new style (``type=`` given).
    source: Element | None


class Loader(NamedTuple):
    """``<os><loader>`` and ``<os><nvram>``: libvirt's one loader definition.

    ``element`` is None when only ``<nvram>`` is written. Tri-state attributes
    keep their text ('yes', 'no') or None when absent.
    """

    element: Element | None
    #: The firmware image (the element's text); None when empty, as libvirt reads it.
    path: str | None
    type: str | None
    readonly: str | None
    secure: str | None
    stateless: str | None
    format: str | None
    nvram: Nvram | None


class FirmwareFeature(NamedTuple):
    """``<os><firmware><feature name= enabled=>``: a firmware autoselection requirement."""

    element: Element
    name: str | None
    #: True for enabled='yes', False for 'no', None for anything else.
    enabled: bool | None


class DeviceBoot(NamedTuple):
    """A device's ``<boot order=... loadparm=...>``."""

    device: Element
    element: Element
    #: The order (a positive integer); None when missing or not a number.
    order: int | None
    loadparm: str | None


class OsFacts(DomainBase):
    """``<os>``: firmware, loader, NVRAM, boot devices, boot menu, BIOS; per-device boot."""

    @lazy
    def os_element(self) -> Element | None:
        return self.top("os")

    @lazy
    def firmware(self) -> str | None:
        """``<os firmware=...>``: 'efi' or 'bios' selects firmware automatically; None: manual."""
        return None if self.os_element is None else self.os_element.get("firmware")

    @lazy
    def firmware_features(self) -> tuple[FirmwareFeature, ...]:
        if self.os_element is None:
            return ()
        return tuple(
            FirmwareFeature(element=el, name=el.get("name"), enabled=_yes_no(el.get("enabled")))
            for firmware in self.os_element.iterchildren("firmware")
            for el in firmware.iterchildren("feature")
        )

    def firmware_feature(self, name: str) -> bool | None:
        """Whether ``<firmware><feature name=...>`` is enabled; None when not given.

        libvirt keeps the last value written for a name.
        """
        found = None
        for feature in self.firmware_features:
            if feature.name == name:
                found = feature.enabled
        return found

    @lazy
    def nvram(self) -> Nvram | None:
        element = None if self.os_element is None else child(self.os_element, "nvram")
        if element is None:
            return None
        source_type = element.get("type")
        text = element.text
        return Nvram(
            element=element,
            template=element.get("template"),
            format=element.get("format"),
            source_type=source_type,
            path=None if source_type is not None or not text else text,
            source=child(element, "source") if source_type is not None else None,
        )

    @lazy
    def loader(self) -> Loader | None:
        """The loader definition, present when ``<loader>`` or ``<nvram>`` is."""
        element = None if self.os_element is None else child(self.os_element, "loader")
        if element is None and self.nvram is None:
            return None
        if element is None:
            return Loader(None, None, None, None, None, None, None, self.nvram)
        return Loader(
            element=element,
            path=element.text or None,
            type=element.get("type"),
            readonly=element.get("readonly"),
            secure=element.get("secure"),
            stateless=element.get("stateless"),
            format=element.get("format"),
            nvram=self.nvram,
        )

    @lazy
    def uses_uefi(self) -> bool:
        """UEFI as the QEMU driver judges it: ``firmware='efi'`` or a ``pflash`` loader
        (``virDomainDefHasOldStyleUEFI``)."""
        if self.firmware == "efi":
            return True
        return self.loader is not None and self.loader.type == "pflash"

    @lazy
    def boot_devices(self) -> tuple[Element, ...]:
        """``<os><boot dev=...>`` elements, in order."""
        if self.os_element is None:
            return ()
        return tuple(self.os_element.iterchildren("boot"))

    @lazy
    def device_boots(self) -> tuple[DeviceBoot, ...]:
        """Every per-device ``<boot>``, in document order."""
        devices = self.devices
        if devices is None:
            return ()
        found = []
        for device in devices:
            if device.tag not in BOOTABLE_DEVICES:
                continue
            boot = child(device, "boot")
            if boot is not None:
                order = parse_uint((boot.get("order") or "").strip() or None)
                found.append(DeviceBoot(device, boot, order, boot.get("loadparm")))
        return tuple(found)

    @lazy
    def bootmenu(self) -> Element | None:
        return None if self.os_element is None else child(self.os_element, "bootmenu")

    @lazy
    def bios(self) -> Element | None:
        return None if self.os_element is None else child(self.os_element, "bios")

    @lazy
    def acpi_tables(self) -> tuple[Element, ...]:
        """``<os><acpi><table>`` elements (libvirt takes them from every ``<acpi>``)."""
        if self.os_element is None:
            return ()
        return tuple(
            table
            for acpi in self.os_element.iterchildren("acpi")
            for table in acpi.iterchildren("table")
        )


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")
