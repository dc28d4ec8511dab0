"""The snapshot bundle: one XML file holding a host's libvirt documents, unchanged,
and the system facts of the machine.

::

    <?xml version='1.0' encoding='UTF-8'?>
    <domxml-lint-host-snapshot version='2' uri='qemu:///system' hostname='kvm-01'
                               libvirt-version='9.0.0' hypervisor='QEMU'
                               hypervisor-version='7.2.0' created='2025-01-31T12:00:00Z'
                               generator='domxml-lint 0.1.0'>
    <capabilities>...</capabilities>                <!-- virsh capabilities -->
    <domainCapabilities>...</domainCapabilities>    <!-- virsh domcapabilities, 0 or more -->
    <device>...</device>                            <!-- virsh nodedev-dumpxml, 0 or more -->
    <system>...</system>                            <!-- domxml-lint host facts, 0 or 1 -->
    <qemuCaps>...</qemuCaps>                        <!-- libvirt's QEMU capabilities cache,
                                                         0 or more (version 3) -->
    </domxml-lint-host-snapshot>

Only ``version`` is required. Version 1 is the same without ``<system>``,
``hostname`` and the hypervisor attributes; version 2 without ``<qemuCaps>``.
Both still load, and a bundle without ``<qemuCaps>`` is written as version 2,
so an older domxml-lint reads it. Each libvirt child
is a document exactly as libvirt wrote it (minus surrounding whitespace), so
:func:`inner_documents` gives back the same bytes, and a child can be cut out
and fed to ``virsh`` or another tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from ..document import Document
from ..errors import InputError
from .model import LibvirtInfo
from .parse import CAPABILITIES, DOMAIN_CAPABILITIES, NODE_DEVICE
from .qemu_caps import QEMU_CAPS
from .system_xml import SYSTEM

ROOT = "domxml-lint-host-snapshot"
#: The newest version this domxml-lint writes (for a bundle holding <qemuCaps>).
VERSION = "3"
#: The version of a bundle without <qemuCaps>, which older domxml-lint reads too.
VERSION_WITHOUT_QEMU_CAPS = "2"
#: The versions it reads: 1 has no <system>, 2 no <qemuCaps>.
READABLE_VERSIONS = ("1", "2", "3")
INNER_KINDS = (CAPABILITIES, DOMAIN_CAPABILITIES, NODE_DEVICE)
_KINDS_BY_VERSION = {
    "1": INNER_KINDS,
    "2": (SYSTEM, *INNER_KINDS),
    "3": (SYSTEM, *INNER_KINDS, QEMU_CAPS),
}
#: The first version that holds each kind of part.
_FIRST_VERSION = {SYSTEM: "2", QEMU_CAPS: "3"}
_ROOT_TAG = re.compile(r"<([A-Za-z_][\w.-]*)")

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_ATTRIBUTE_ORDER = (
    "uri",
    "hostname",
    "libvirt-version",
    "hypervisor",
    "hypervisor-version",
    "created",
    "generator",
)


def build_bundle(documents: Iterable[str], **metadata: str | None) -> bytes:
    """A bundle holding ``documents`` (XML text), in the order given.

    The documents are libvirt's, and the ``<system>`` section of
    :func:`~domxml_lint.host.system_xml.system_xml`. ``metadata`` becomes
    attributes of the root (``uri``, ``hostname``, ``libvirt_version``,
    ``hypervisor``, ``hypervisor_version``, ``created``, ``generator``; None
    values are left out). An XML declaration at the top of a document is
    dropped: it cannot appear inside another one. The version is the oldest
    that holds the documents: 3 with a ``<qemuCaps>``, else 2.
    """
    texts = [_DECLARATION.sub("", text).strip() for text in documents]
    with_caps = any(_root_tag(text) == QEMU_CAPS for text in texts)
    version = VERSION if with_caps else VERSION_WITHOUT_QEMU_CAPS
    attributes = [("version", version)]
    for key, value in metadata.items():
        if value is not None:
            attributes.append((key.replace("_", "-"), value))
    attributes.sort(key=lambda kv: (kv[0] != "version", _order(kv[0])))
    start = "<" + ROOT + "".join(f" {k}='{_attr(v)}'" for k, v in attributes) + ">"
    parts = ["<?xml version='1.0' encoding='UTF-8'?>", start, *texts]
    parts.append(f"</{ROOT}>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def _root_tag(text: str) -> str | None:
    """The root element's name of an XML text (after comments and processing instructions)."""
    body = re.sub(r"<!--.*?-->|<\?.*?\?>", "", text, flags=re.S)
    match = _ROOT_TAG.search(body)
    return match.group(1) if match else None


def _order(name: str) -> int:
    return _ATTRIBUTE_ORDER.index(name) if name in _ATTRIBUTE_ORDER else len(_ATTRIBUTE_ORDER)


#: What a single-quoted attribute value must escape (saxutils.escape's table; importing
#: xml.sax.saxutils pulls in urllib.request, ~20 ms of every start-up).
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", "\n": "&#10;", "\t": "&#9;"}
)


def _attr(value: str) -> str:
    return value.translate(_ATTRIBUTE_ESCAPES)


def bundle_parts(doc: Document) -> list[etree._Element]:
    """The inner documents' root elements, after checking the bundle's root and version."""
    root = doc.root
    version = check_version(doc)
    kinds = _KINDS_BY_VERSION[version]
    parts = []
    systems = 0
    for child in root.iterchildren(etree.Element):
        if child.tag not in kinds:
            hint = "a snapshot holds " + ", ".join(f"<{kind}>" for kind in kinds) + " only"
            first = _FIRST_VERSION.get(child.tag)
            if first is not None:
                hint = f"<{child.tag}> came with snapshot version {first}: write version='{first}'"
            raise InputError(
                doc.path,
                f"<{child.tag}> does not belong in a version {version} host snapshot",
                hint=hint,
                line=child.sourceline,
            )
        if child.tag == SYSTEM:
            systems += 1
            if systems > 1:
                raise InputError(
                    doc.path,
                    f"a second <{SYSTEM}>: a snapshot holds the facts of one machine",
                    hint="keep one, or split the snapshot in two",
                    line=child.sourceline,
                )
        parts.append(child)
    return parts


def check_version(doc: Document) -> str:
    """The bundle's version, if this domxml-lint reads it; else an error saying what to do."""
    root = doc.root
    version = root.get("version")
    if version is None:
        raise InputError(
            doc.path,
            f"<{ROOT}> has no version attribute",
            hint=f"write version='{VERSION}', or capture the host again",
            line=root.sourceline,
        )
    if version in READABLE_VERSIONS:
        return version
    readable = ", ".join(READABLE_VERSIONS[:-1]) + " and " + READABLE_VERSIONS[-1]
    if version.isascii() and version.isdigit() and int(version) > int(VERSION):
        message = (
            f"snapshot version {version} is newer than this domxml-lint reads (versions {readable})"
        )
        hint = (
            "upgrade domxml-lint (`pip install -U domxml-lint`), or take the snapshot "
            "again with this one"
        )
    else:
        message = f"snapshot version {version!r} is not one domxml-lint knows (versions {readable})"
        hint = "take the snapshot again with `domxml-lint host snapshot`"
    raise InputError(doc.path, message, hint=hint, line=root.sourceline)


def bundle_libvirt(doc: Document) -> LibvirtInfo | None:
    """What the root's attributes say about the libvirt connection (None if nothing)."""
    root = doc.root
    info = LibvirtInfo(
        uri=root.get("uri"),
        hostname=root.get("hostname"),
        version=root.get("libvirt-version"),
        hypervisor=root.get("hypervisor"),
        hypervisor_version=root.get("hypervisor-version"),
    )
    return None if info == LibvirtInfo() else info


def inner_documents(doc: Document) -> list[bytes]:
    """Each inner document's bytes (``<system>`` included), exactly as they stand in the bundle."""
    return [doc.data[doc.span(part).start : doc.span(part).end] for part in bundle_parts(doc)]
