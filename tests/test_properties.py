"""Properties over generated documents: source map, edit locality, fix idempotence."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from strategies import xml_documents

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.edits import Editor, new_element
from domxml_lint.fixer import apply_edits, fix_document

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def qname(doc: Document, element) -> bytes:
    return re.match(rb"<([^\s/>]+)", doc.data[doc.span(element).start :]).group(1)


@SETTINGS
@given(xml_documents())
def test_source_map_agrees_with_lxml(data):
    doc = Document.parse(data, "gen.xml")
    assert len(doc.spans) == len(doc.elements)
    for element in doc.elements:
        span = doc.span(element)
        name = qname(doc, element)
        assert etree.QName(element).localname == name.split(b":")[-1].decode()
        start_tag = data[span.start : span.start_end]
        assert start_tag.startswith(b"<" + name) and start_tag.endswith(b">")
        if span.self_closing:
            assert start_tag.endswith(b"/>") and len(element) == 0
        else:
            assert re.fullmatch(rb"</" + re.escape(name) + rb"\s*>", data[span.end_start : span.end])
        for key, value in element.attrib.items():
            qualified = key if not key.startswith("{") else next(
                f"{p}:{etree.QName(key).localname}" for p, ns in element.nsmap.items() if ns == etree.QName(key).namespace
            )
            attr = doc.attribute_span(element, qualified)
            assert attr is not None
            raw = data[attr.value_start : attr.value_end].decode()
            assert etree.fromstring(f"<a v={attr.quote}{raw}{attr.quote}/>".encode()).get("v") == value
        parent = element.getparent()
        if parent is not None:
            outer = doc.span(parent)
            assert outer.start_end <= span.start and span.end <= outer.end_start


@SETTINGS
@given(xml_documents(), st.data())
def test_edits_change_nothing_outside_their_span(data, draw):
    doc = Document.parse(data, "gen.xml")
    editor = Editor(doc)
    element = draw.draw(st.sampled_from(doc.elements))
    operation = draw.draw(st.sampled_from(["set", "remove-attr", "insert", "remove-el", "text"]))
    value = draw.draw(st.text(max_size=8).filter(lambda t: all(c.isprintable() for c in t)))
    if operation == "set":
        edit = editor.set_attribute(element, "cache", value)
    elif operation == "remove-attr":
        names = [k for k in element.attrib if not k.startswith("{")]
        if not names:
            return
        edit = editor.remove_attribute(element, names[0])
    elif operation == "insert":
        edit = editor.insert_child(element, new_element("added", {"k": value}))
    elif operation == "remove-el":
        if element is doc.root:
            return
        edit = editor.remove_element(element)
    else:
        if len(element):
            return
        edit = editor.replace_text(element, value)
    result = apply_edits(doc, [edit])
    assert result[: edit.start] == data[: edit.start]
    assert result[len(result) - (len(data) - edit.end) :] == data[edit.end :]
    new_root = etree.fromstring(result)
    new_elements = list(new_root.iter(etree.Element))
    if operation == "remove-el":
        removed = sum(1 for _ in element.iter(etree.Element))
        assert len(new_elements) == len(doc.elements) - removed
        return
    # set/insert/text keep document order up to and including the edited element
    same = new_elements[doc.elements.index(element)]
    if operation == "set":
        assert same.get("cache") == value
    elif operation == "insert":
        assert same[-1].get("k") == value
    elif operation == "text":
        assert (same.text or "") == value


@st.composite
def domains_with_disks(draw) -> bytes:
    quote = draw(st.sampled_from(["'", '"']))
    indent = draw(st.sampled_from(["  ", "    ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    disks = []
    for index in range(draw(st.integers(1, 4))):
        attrs = [("name", "qemu"), ("type", draw(st.sampled_from(["raw", "qcow2"])))]
        for key, choices in (("cache", ["none", "unsafe", "writeback", "directsync", None]),
                             ("io", ["native", "threads", None])):
            value = draw(st.sampled_from(choices))
            if value:
                attrs.append((key, value))
        attrs = draw(st.permutations(attrs))
        driver = " ".join(f"{k}={quote}{v}{quote}" for k, v in attrs)
        comment = f"{indent * 2}<!-- disk {index} \u00e9 -->{newline}" if draw(st.booleans()) else ""
        disks.append(
            f"{comment}{indent * 2}<disk type={quote}file{quote}>{newline}"
            f"{indent * 3}<driver {driver}/>{newline}"
            f"{indent * 3}<target dev={quote}vd{chr(97 + index)}{quote} bus={quote}virtio{quote}/>{newline}"
            f"{indent * 2}</disk>{newline}"
        )
    text = (
        f"<domain type={quote}kvm{quote}>{newline}{indent}<name>g</name>{newline}"
        f"{indent}<devices>{newline}{''.join(disks)}{indent}</devices>{newline}</domain>{newline}"
    )
    return text.encode()


@SETTINGS
@given(domains_with_disks(), st.booleans())
def test_fix_is_idempotent(data, unsafe):
    linter = build_linter(select="ALL")
    first = fix_document(Document.parse(data, "g.xml"), linter, unsafe=unsafe)
    second = fix_document(Document.parse(first.data, "g.xml"), linter, unsafe=unsafe)
    assert second.data == first.data
    assert not second.applied
    assert {f.code for f in first.applied}.isdisjoint(
        {f.code for f in second.remaining if f.fix is not None and (unsafe or f.fix.is_safe)}
    )
