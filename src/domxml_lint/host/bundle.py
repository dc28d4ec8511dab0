"""The snapshot bundle: one XML file holding a host's libvirt documents, unchanged.

::

    <?xml version='1.0' encoding='UTF-8'?>
    <domxml-lint-host-snapshot version='1' uri='qemu:///system' libvirt-version='9.0.0'
                               created='2025-01-31T12:00:00Z' generator='domxml-lint 0.1.0'>
    <capabilities>...</capabilities>                <!-- virsh capabilities -->
    <domainCapabilities>...</domainCapabilities>    <!-- virsh domcapabilities, 0 or more -->
    <device>...</device>                            <!-- virsh nodedev-dumpxml, 0 or more -->
    </domxml-lint-host-snapshot>

Only ``version`` is required. Each child is a document exactly as libvirt
wrote it (minus surrounding whitespace), so :func:`inner_documents` gives back
the same bytes, and a child can be cut out and fed to ``virsh`` or another tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from lxml import etree

from ..document import Document
from ..errors import InputError
from .parse import CAPABILITIES, DOMAIN_CAPABILITIES, NODE_DEVICE

ROOT = "domxml-lint-host-snapshot"
VERSION = "1"
INNER_KINDS = (CAPABILITIES, DOMAIN_CAPABILITIES, NODE_DEVICE)

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_ATTRIBUTE_ORDER = ("uri", "libvirt-version", "created", "generator")


def build_bundle(documents: Iterable[str], **metadata: str | None) -> bytes:
    """A bundle holding ``documents`` (libvirt XML text), in the order given.

    ``metadata`` becomes attributes of the root (``uri``, ``libvirt_version``,
    ``created``, ``generator``; None values are left out). An XML declaration
    at the top of a document is dropped: it cannot appear inside another one.
    """
    attributes = [("version", VERSION)]
    for key, value in metadata.items():
        if value is not None:
            attributes.append((key.replace("_", "-"), value))
    attributes.sort(key=lambda kv: (kv[0] != "version", _order(kv[0])))
    start = "<" + ROOT + "".join(f" {k}='{_attr(v)}'" for k, v in attributes) + ">"
    parts = ["<?xml version='1.0' encoding='UTF-8'?>", start]
    for text in documents:
        parts.append(_DECLARATION.sub("", text).strip())
    parts.append(f"</{ROOT}>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def _order(name: str) -> int:
    return _ATTRIBUTE_ORDER.index(name) if name in _ATTRIBUTE_ORDER else len(_ATTRIBUTE_ORDER)


def _attr(value: str) -> str:
    return escape(value, {"'": "&apos;", "\n": "&#10;", "\t": "&#9;"})


def bundle_parts(doc: Document) -> list[etree._Element]:
    """The inner documents' root elements, after checking the bundle's root and version."""
    root = doc.root
    version = root.get("version")
    if version is None:
        raise InputError(
            doc.path,
            f"<{ROOT}> has no version attribute",
            hint=f"write version='{VERSION}', or capture the host again",
            line=root.sourceline,
        )
    if version != VERSION:
        raise InputError(
            doc.path,
            f"snapshot version {version!r} is not supported (this domxml-lint reads "
            f"version {VERSION})",
            hint="upgrade domxml-lint, or capture the host again with this one",
            line=root.sourceline,
        )
    parts = []
    for child in root.iterchildren(etree.Element):
        if child.tag not in INNER_KINDS:
            raise InputError(
                doc.path,
                f"<{child.tag}> does not belong in a host snapshot",
                hint="a snapshot holds <capabilities>, <domainCapabilities> and <device> "
                "documents only",
                line=child.sourceline,
            )
        parts.append(child)
    return parts


def inner_documents(doc: Document) -> list[bytes]:
    """Each inner document's bytes, exactly as they stand in the bundle."""
    return [doc.data[doc.span(part).start : doc.span(part).end] for part in bundle_parts(doc)]
