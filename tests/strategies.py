"""Hypothesis strategies that write XML the way people and tools do.

Documents mix quote styles, comments, CDATA, namespaced elements and
attributes, non-ASCII text, self-closing and open tags, and attributes spread
over several lines, in a chosen indentation and newline style.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ["disk", "driver", "source", "target", "cpu", "numa", "cell", "memory", "x", "y-z", "a.b"]
NS_NAMES = ["qemu:arg", "qemu:env", "libosinfo:os"]
ATTR_NAMES = ["type", "name", "cache", "io", "dev", "bus", "id", "value"]
NS_ATTR_NAMES = ["qemu:id", "libosinfo:id"]
NAMESPACES = (
    " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
    " xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\""
)

# Characters valid in XML 1.0 text, including non-ASCII and astral ones.
TEXT_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff", min_codepoint=0x20
)
safe_text = st.text(TEXT_CHARS, max_size=12)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str, quote: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace(quote, "&apos;" if quote == "'" else "&quot;")


@st.composite
def element_trees(draw, depth: int = 0):
    """(name, [(attr, value, quote, newline_before)], text, cdata, comment_before, children)."""
    name = draw(st.sampled_from(NAMES + NS_NAMES)) if depth else "domain"
    attr_names = draw(st.lists(st.sampled_from(ATTR_NAMES + NS_ATTR_NAMES), unique=True, max_size=4))
    attrs = [
        (a, draw(safe_text), draw(st.sampled_from(["'", '"'])), draw(st.booleans()))
        for a in attr_names
    ]
    children = []
    if depth < 3:
        children = draw(st.lists(element_trees(depth + 1), max_size=4 if depth else 6))
    text = draw(st.none() | safe_text) if not children else None
    cdata = draw(st.booleans()) if text else False
    comment = draw(st.none() | st.text(TEXT_CHARS, max_size=10).filter(lambda t: "--" not in t and not t.endswith("-")))
    return (name, attrs, text, cdata, comment, children)


def serialize(tree, indent: str, newline: str, level: int = 0) -> str:
    name, attrs, text, cdata, comment, children = tree
    pad = indent * level
    out = ""
    if comment is not None and level:
        out += f"{pad}<!--{comment}-->{newline}"
    attr_text = ""
    for attr, value, quote, wrap in attrs:
        sep = newline + pad + indent * 2 if wrap else " "
        attr_text += f"{sep}{attr}={quote}{escape_attr(value, quote)}{quote}"
    if level == 0:
        attr_text = NAMESPACES + attr_text
    if children:
        inner = "".join(serialize(c, indent, newline, level + 1) for c in children)
        out += f"{pad}<{name}{attr_text}>{newline}{inner}{pad}</{name}>{newline}"
    elif text is not None:
        body = f"<![CDATA[{text.replace(']]>', '')}]]>" if cdata else escape_text(text)
        out += f"{pad}<{name}{attr_text}>{body}</{name}>{newline}"
    else:
        out += f"{pad}<{name}{attr_text}/>{newline}"
    return out


@st.composite
def xml_documents(draw) -> bytes:
    tree = draw(element_trees())
    indent = draw(st.sampled_from(["  ", "    ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    declaration = draw(st.sampled_from(["", "<?xml version='1.0' encoding='UTF-8'?>" + newline]))
    return (declaration + serialize(tree, indent, newline)).encode("utf-8")
