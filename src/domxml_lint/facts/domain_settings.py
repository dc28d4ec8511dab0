"""Domain-wide settings: security labels, sysinfo and fw_cfg, launch security, lifecycle
actions, ID maps, resource partitions, perf events, key wrapping and the QEMU namespace.

Read as libvirt's parser reads them for a definition (``virDomainDefParseXML`` with
``VIR_DOMAIN_DEF_PARSE_INACTIVE``, what ``virsh define`` uses): for instance a security
label's ``relabel`` defaults to yes for a dynamic label and to no for a static one or
none, and ``<imagelabel>`` is not read at all. Values libvirt would refuse become None.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .domain import DomainBase
from .values import child, child_text

Element = etree._Element

#: The namespace of libvirt's QEMU driver extensions (``qemuDomainXMLNamespaceDef``).
QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0"


@functools.cache
def _qemu_steps(path: str) -> tuple[str, ...]:
    """``commandline/arg`` as namespaced tags, once per path (rules ask on every document)."""
    return tuple(f"{{{QEMU_NAMESPACE}}}{step}" for step in path.split("/"))


#: ``VIR_SECURITY_LABEL_BUFLEN - 1``: labels this long or longer are refused.
MAX_LABEL_LENGTH = 4096


class SecLabel(NamedTuple):
    """A domain-level ``<seclabel>``."""

    element: Element
    model: str | None
    #: ``type=``, 'dynamic' when absent.
    type: str
    #: ``relabel=`` as written.
    relabel_attr: str | None
    #: Whether libvirt relabels: as written, else yes for dynamic labels only.
    relabel: bool
    #: ``<label>`` text; None when missing or empty (libvirt's virXPathString).
    label: str | None
    label_element: Element | None
    baselabel: str | None


class DeviceSecLabel(NamedTuple):
    """A per-device ``<seclabel>`` override (under a disk's or chardev's ``<source>``)."""

    element: Element
    #: The element the label belongs to (its parent, usually a ``<source>``).
    owner: Element
    model: str | None
    relabel_attr: str | None
    #: Whether the override relabels: as written, else yes.
    relabel: bool
    label: str | None


class SysinfoEntry(NamedTuple):
    element: Element
    name: str | None
    value: str


class Sysinfo(NamedTuple):
    element: Element
    #: ``type=``: smbios or fwcfg.
    type: str | None
    #: smbios: the first ``<bios><entry name='date'>``.
    bios_date: SysinfoEntry | None
    #: smbios: the first ``<system><entry name='uuid'>``.
    system_uuid: SysinfoEntry | None
    base_boards: tuple[Element, ...]
    #: fwcfg: every ``<entry>``.
    fw_cfg: tuple[Element, ...]


class IdMapEntry(NamedTuple):
    element: Element
    start: int | None


class QemuProperty(NamedTuple):
    """``<qemu:override><qemu:device alias><qemu:frontend><qemu:property>``."""

    element: Element
    name: str | None
    type: str | None
    value: str | None


class DomainSettingsFacts(DomainBase):
    """Security labels, sysinfo, launch security, lifecycle, idmap, resource, perf,
    keywrap and the ``qemu:`` namespace."""

    @lazy
    def seclabels(self) -> tuple[SecLabel, ...]:
        return tuple(_seclabel(el) for el in self.root.iterchildren("seclabel"))

    @lazy
    def device_seclabels(self) -> tuple[DeviceSecLabel, ...]:
        """Every per-device ``<seclabel>``: any below ``<devices>``, in document order."""
        if self.devices is None or "seclabel" not in self.tags:
            return ()
        result = []
        for el in self.devices.iter("seclabel"):
            relabel_attr = el.get("relabel")
            label = _text_or_none(child_text(el, "label"))
            owner = el.getparent()
            assert owner is not None
            result.append(
                DeviceSecLabel(el, owner, el.get("model"), relabel_attr,
                               relabel_attr != "no", label)
            )  # fmt: skip
        return tuple(result)

    @lazy
    def sysinfos(self) -> tuple[Sysinfo, ...]:
        return tuple(_sysinfo(el) for el in self.root.iterchildren("sysinfo"))

    @lazy
    def smbios_mode(self) -> Element | None:
        """``<os><smbios mode=...>``."""
        os_el = self.top("os")
        return None if os_el is None else child(os_el, "smbios")

    @lazy
    def launch_security(self) -> Element | None:
        return self.top("launchSecurity")

    @lazy
    def lifecycle_elements(self) -> dict[str, Element]:
        """``on_poweroff``, ``on_reboot``, ``on_crash`` elements by event name."""
        return {
            tag: el
            for tag in ("on_poweroff", "on_reboot", "on_crash")
            if (el := self.top(tag)) is not None
        }

    def lifecycle_action(self, event: str) -> str | None:
        """The action written for ``on_poweroff``/``on_reboot``/``on_crash``, stripped."""
        el = self.lifecycle_elements.get(event)
        return None if el is None else (el.text or "").strip()

    @lazy
    def idmap(self) -> Element | None:
        return self.top("idmap")

    def idmap_entries(self, kind: str) -> tuple[IdMapEntry, ...]:
        """``<idmap><uid>`` or ``<gid>`` entries, sorted by start as libvirt sorts them."""
        if self.idmap is None:
            return ()
        entries = [
            IdMapEntry(el, parse_uint(el.get("start"))) for el in self.idmap.iterchildren(kind)
        ]
        return tuple(sorted(entries, key=lambda e: -1 if e.start is None else e.start))

    @lazy
    def fibrechannel(self) -> Element | None:
        """``<resource><fibrechannel appid=...>``."""
        resource = self.top("resource")
        return None if resource is None else child(resource, "fibrechannel")

    @lazy
    def perf_events(self) -> tuple[Element, ...]:
        perf = self.top("perf")
        return () if perf is None else tuple(perf.iterchildren("event"))

    @lazy
    def keywrap(self) -> Element | None:
        return self.top("keywrap")

    @lazy
    def keywrap_ciphers(self) -> tuple[Element, ...]:
        return () if self.keywrap is None else tuple(self.keywrap.iterchildren("cipher"))

    def qemu_elements(self, path: str) -> tuple[Element, ...]:
        """Elements of the QEMU namespace below the root: ``commandline/arg`` is every
        ``<qemu:arg>`` of every ``<qemu:commandline>``, as libvirt's XPath reads them."""
        steps = _qemu_steps(path)
        if steps[0] not in self.tags:
            return ()
        found = [self.root]
        for step in steps:
            found = [inner for outer in found for inner in outer.iterchildren(step)]
        return tuple(found)

    @lazy
    def qemu_properties(self) -> tuple[QemuProperty, ...]:
        return tuple(
            QemuProperty(el, el.get("name"), el.get("type"), el.get("value"))
            for el in self.qemu_elements("override/device/frontend/property")
        )


def _text_or_none(text: str | None) -> str | None:
    return text if text else None


def _seclabel(el: Element) -> SecLabel:
    kind = el.get("type") or "dynamic"
    relabel_attr = el.get("relabel")
    if relabel_attr in ("yes", "no"):
        relabel = relabel_attr == "yes"
    else:
        relabel = kind == "dynamic"
    label_el = child(el, "label")
    return SecLabel(
        element=el,
        model=el.get("model"),
        type=kind,
        relabel_attr=relabel_attr,
        relabel=relabel,
        label=_text_or_none(child_text(el, "label")),
        label_element=label_el,
        baselabel=_text_or_none(child_text(el, "baselabel")) if kind == "dynamic" else None,
    )


def _entry(section: Element | None, name: str) -> SysinfoEntry | None:
    if section is None:
        return None
    for entry in section.iterchildren("entry"):
        if entry.get("name") == name:
            return SysinfoEntry(entry, name, entry.text or "")
    return None


def _sysinfo(el: Element) -> Sysinfo:
    return Sysinfo(
        element=el,
        type=el.get("type"),
        bios_date=_entry(child(el, "bios"), "date"),
        system_uuid=_entry(child(el, "system"), "uuid"),
        base_boards=tuple(el.iterchildren("baseBoard")),
        fw_cfg=tuple(el.iterchildren("entry")) if el.get("type") == "fwcfg" else (),
    )


_UUID_SEPARATORS = re.compile(r"[-\s]")
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def parse_uuid(text: str | None) -> bytes | None:
    """A UUID as libvirt's ``virUUIDParse`` reads it (hex digits, dashes and blanks
    ignored between them); None when absent or malformed."""
    if text is None:
        return None
    digits = _UUID_SEPARATORS.sub("", text)
    return bytes.fromhex(digits) if _HEX32.match(digits) else None
