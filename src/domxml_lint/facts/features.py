"""``<features>`` beyond Hyper-V: each feature as libvirt's parser records it.

``virDomainFeaturesDefParse`` (src/conf/domain_conf.c) reads every child of
``<features>`` in order, so a feature written twice takes its last value. What
counts as "present" differs per feature: ``<smm/>`` means on, ``<ps2>`` needs
``state=``, ``<ioapic>`` without ``driver=`` and ``<hpt>`` without settings are
not recorded at all, and ``<tcg>`` only with a non-zero ``<tb-cache>``.
:meth:`FeatureFacts.recorded` encodes that, once.
"""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import UnitError, parse_uint, unit_scale
from .domain import DomainBase
from .values import child

Element = etree._Element

MIB = 1024 * 1024

#: Features whose absent ``state=`` means on (``<smm/>``, ``<pmu/>``).
STATE_DEFAULT_ON = frozenset({"vmcoreinfo", "hap", "pmu", "pvspinlock", "vmport", "smm"})
#: Features that need ``state=`` (libvirt refuses them without it).
STATE_REQUIRED = frozenset({"htm", "nested-hv", "ccf-assist", "ras", "ps2"})
#: Features recorded only through a value attribute (``<ioapic driver=>``, ``<cfpc value=>``).
VALUE_ATTRIBUTE = {"ioapic": "driver", "cfpc": "value", "sbbc": "value", "ibs": "value"}


class RecordedFeature(NamedTuple):
    """A feature libvirt records: its element and value ('on', 'off', or ``driver=`` ...)."""

    element: Element
    value: str


class ScaledBytes(NamedTuple):
    """A scaled value (``<tseg unit='MiB'>48</tseg>``) in bytes; None when libvirt refuses it."""

    element: Element
    text: str
    unit: str | None
    bytes: int | None


class FeatureFacts(DomainBase):
    """``<features>``: what libvirt records for each child, and the values some carry."""

    @lazy
    def feature_elements(self) -> dict[str, Element]:
        """Each feature's element by name; the last one when a feature is written twice."""
        if self.features is None:
            return {}
        return {el.tag: el for el in self.features if isinstance(el.tag, str)}

    def feature_element(self, name: str) -> Element | None:
        return self.feature_elements.get(name)

    def recorded(self, name: str) -> RecordedFeature | None:
        """What libvirt records for ``<features><name>``: None when absent or not recorded
        at all, else the element and 'on', 'off' or the value attribute (``driver='qemu'``)."""
        element = self.feature_elements.get(name)
        if element is None:
            return None
        value = self._recorded_value(name, element)
        return None if value is None else RecordedFeature(element, value)

    def recorded_value(self, name: str) -> str | None:
        feature = self.recorded(name)
        return None if feature is None else feature.value

    def _recorded_value(self, name: str, element: Element) -> str | None:
        if name in VALUE_ATTRIBUTE:
            return element.get(VALUE_ATTRIBUTE[name]) or None
        if name in STATE_DEFAULT_ON:
            return element.get("state", "on")
        if name in STATE_REQUIRED:
            return element.get("state")
        if name == "hpt":
            has_settings = (
                element.get("resizing") is not None or child(element, "maxpagesize") is not None
            )
            return "on" if has_settings else None
        if name == "tcg":
            cache = self.tb_cache
            return "on" if cache is not None and cache.bytes else None
        if name == "async-teardown":
            return {"yes": "on", "no": "off"}.get(element.get("enabled", "yes"))
        return "on"

    @lazy
    def tseg(self) -> ScaledBytes | None:
        """``<smm><tseg>``, which libvirt reads only with SMM on (default unit MiB)."""
        smm = self.feature_elements.get("smm")
        if smm is None or smm.get("state", "on") != "on":
            return None
        return _scaled(child(smm, "tseg"), MIB)

    @lazy
    def tb_cache(self) -> ScaledBytes | None:
        """``<tcg><tb-cache>`` (default unit KiB)."""
        tcg = self.feature_elements.get("tcg")
        return None if tcg is None else _scaled(child(tcg, "tb-cache"), 1024)

    @lazy
    def dirty_ring(self) -> Element | None:
        """``<kvm><dirty-ring>`` (the last one, as libvirt keeps it)."""
        kvm = self.feature_elements.get("kvm")
        if kvm is None:
            return None
        rings = list(kvm.iterchildren("dirty-ring"))
        return rings[-1] if rings else None


def _scaled(element: Element | None, default_scale: int) -> ScaledBytes | None:
    if element is None:
        return None
    text = (element.text or "").strip()
    unit = element.get("unit")
    number = parse_uint(text)
    try:
        scale = unit_scale(unit, default_scale)
    except UnitError:
        scale = None
    total = None if number is None or scale is None else number * scale
    return ScaledBytes(element, text, unit, total)
