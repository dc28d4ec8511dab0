"""Clock and timers, Hyper-V enlightenments, and what the guest OS is."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from .domain import DomainBase
from .values import child, grandchildren

Element = etree._Element


class Timer(NamedTuple):
    element: Element
    name: str | None
    present: str | None

    def attr(self, name: str) -> str | None:
        return self.element.get(name)


class HypervFeature(NamedTuple):
    element: Element
    name: str
    state: str | None

    @property
    def enabled(self) -> bool:
        return self.state == "on"


class Hyperv(NamedTuple):
    """``<features><hyperv>``: its mode and every child feature by name (first wins)."""

    element: Element
    mode: str
    features: tuple[HypervFeature, ...]

    def feature(self, name: str) -> HypervFeature | None:
        for item in self.features:
            if item.name == name:
                return item
        return None

    def enabled(self, name: str) -> bool:
        """Whether the enlightenment ``name`` is on (passthrough mode turns all on)."""
        if self.mode == "passthrough":
            return True
        item = self.feature(name)
        return item is not None and item.enabled

    @property
    def any_enabled(self) -> bool:
        return self.mode == "passthrough" or any(f.enabled for f in self.features)


#: libosinfo ids of Windows releases older than Vista / 2008, which predate
#: Hyper-V enlightenments (virt-manager adds none for them either).
PRE_VISTA_WINDOWS = frozenset(
    {"1.0", "2.0", "3.1", "95", "98", "me", "nt3.51", "nt4.0", "2k", "xp", "2k3", "2k3r2"}
)
LIBOSINFO_NS = "http://libosinfo.org/xmlns/libvirt/domain/1.0"
WINDOWS_OS_PREFIX = "http://microsoft.com/win/"


class PlatformFacts(DomainBase):
    """``<clock>``, ``<features><hyperv>`` and the guest OS."""

    @lazy
    def timers(self) -> tuple[Timer, ...]:
        return tuple(
            Timer(element=el, name=el.get("name"), present=el.get("present"))
            for el in grandchildren(self.root, "clock", "timer")
        )

    def timer(self, name: str) -> Timer | None:
        for item in self.timers:
            if item.name == name:
                return item
        return None

    @lazy
    def hyperv(self) -> Hyperv | None:
        if self.features is None:
            return None
        element = child(self.features, "hyperv")
        if element is None:
            return None
        features = tuple(
            HypervFeature(element=feature, name=feature.tag, state=feature.get("state"))
            for feature in element
            if isinstance(feature.tag, str)
        )
        return Hyperv(element=element, mode=element.get("mode", "custom"), features=features)

    @lazy
    def os_ids(self) -> tuple[str, ...]:
        """The libosinfo os ids in ``<metadata>`` (``http://redhat.com/rhel/9.4``), as
        virt-install and virt-manager write them."""
        path = f"metadata/{{{LIBOSINFO_NS}}}libosinfo/{{{LIBOSINFO_NS}}}os"
        return tuple(os_el.get("id") or "" for os_el in self.root.iterfind(path))

    @lazy
    def windows_os_id(self) -> str | None:
        """The libosinfo os id when it names a Windows release, else None."""
        for os_id in self.os_ids:
            if os_id.startswith(WINDOWS_OS_PREFIX):
                return os_id
        return None

    @lazy
    def is_windows(self) -> bool:
        """Whether the guest runs Windows, judged only from strong signals.

        1. libosinfo metadata (written by virt-install, virt-manager, GNOME Boxes):
           ``<libosinfo:os id='http://microsoft.com/win/...'/>``.
        2. Without metadata: Hyper-V enlightenments switched on together with
           ``<clock offset='localtime'>``. Enlightenments only serve Windows (and
           Hyper-V) guests, and Windows is the OS that keeps its RTC in local time.

        The domain's name, title or disk paths are never used: "win-build" may
        well be a Linux build box.
        """
        if self.windows_os_id is not None:
            return True
        clock = self.top("clock")
        localtime = clock is not None and clock.get("offset") == "localtime"
        return localtime and self.hyperv is not None and self.hyperv.any_enabled

    @property
    def windows_has_enlightenments(self) -> bool:
        """False for Windows releases that predate Hyper-V enlightenments (XP, 2003 ...)."""
        os_id = self.windows_os_id
        if os_id is None:
            return True
        return os_id[len(WINDOWS_OS_PREFIX) :] not in PRE_VISTA_WINDOWS
