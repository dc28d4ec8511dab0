"""Edit builders in every file style: quotes, indentation, newlines, tag shapes, comments.

Each case renders one document template in a style, applies one builder, and
compares with the same template rendered with the expected change: so every
byte outside the edit is checked, in every style.
"""

from __future__ import annotations

import itertools

import pytest
from lxml import etree

from domxml_lint.document import Document
from domxml_lint.edits import Editor, new_element
from domxml_lint.fixer import apply_edits

STYLES = [
    pytest.param(q, i, nl, id=f"{name_q}-{name_i}-{name_nl}")
    for (name_q, q), (name_i, i), (name_nl, nl) in itertools.product(
        [("single", "'"), ("double", '"')],
        [("2sp", "  "), ("4sp", "    "), ("tab", "\t")],
        [("lf", "\n"), ("crlf", "\r\n")],
    )
]

# {q}: quote, {i}: one indent unit, {n}: newline. Non-ASCII text comes before every edit.
TEMPLATE = (
    "<domain type={q}kvm{q}>{n}"
    "{i}<name>caf\u00e9-\u6f22\u5b57</name>{n}"
    "{i}<!-- memory: ask the DBA -->{n}"
    "{i}<memory unit={q}GiB{q}>4</memory>{n}"
    "{i}<memoryBacking/>{n}"
    "{i}<devices>{n}"
    "{i}{i}<disk type={q}file{q}{n}"
    "{i}{i}      device={q}disk{q}>{n}"
    "{i}{i}{i}<driver name={q}qemu{q} type={q}raw{q}/>{n}"
    "{i}{i}{i}<!-- keep on fast storage -->{n}"
    "{i}{i}{i}<target dev={q}vda{q} bus={q}virtio{q}></target>{n}"
    "{i}{i}</disk>{n}"
    "{i}</devices>{n}"
    "</domain>{n}"
)


def render(template: str, q: str, i: str, n: str) -> bytes:
    return template.format(q=q, i=i, n=n).encode("utf-8")


def apply_one(data: bytes, build) -> bytes:
    doc = Document.parse(data, "t.xml")
    edit = build(Editor(doc), doc.root)
    result = apply_edits(doc, [edit])
    etree.fromstring(result)  # still well-formed
    return result


def swap(old: str, new: str) -> str:
    assert TEMPLATE.count(old) == 1
    return TEMPLATE.replace(old, new)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_set_existing_attribute_in_place(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.set_attribute(root.find("devices/disk/driver"), "type", "qcow2"),
    )
    expected = swap("type={q}raw{q}/>", "type={q}qcow2{q}/>")
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_set_new_attribute_on_self_closing_tag(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.set_attribute(root.find("devices/disk/driver"), "cache", "none"),
    )
    expected = swap("type={q}raw{q}/>", "type={q}raw{q} cache={q}none{q}/>")
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_set_new_attribute_on_multiline_open_tag(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.set_attribute(root.find("devices/disk"), "snapshot", "no"),
    )
    expected = swap("device={q}disk{q}>", "device={q}disk{q} snapshot={q}no{q}>")
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_set_attribute_escapes_quote(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.set_attribute(root.find("devices/disk/target"), "dev", "a'b\"c&"),
    )
    escaped = 'a&apos;b"c&amp;' if q == "'" else "a'b&quot;c&amp;"
    expected = swap("dev={q}vda{q}", "dev={q}" + escaped.replace("{", "{{") + "{q}")
    assert result == render(expected, q, i, n)
    assert etree.fromstring(result).find("devices/disk/target").get("dev") == "a'b\"c&"


@pytest.mark.parametrize("q,i,n", STYLES)
def test_remove_attribute_on_its_own_line(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.remove_attribute(root.find("devices/disk"), "device"),
    )
    expected = swap("{q}file{q}{n}{i}{i}      device={q}disk{q}>", "{q}file{q}>")
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_remove_attribute_inline(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.remove_attribute(root.find("devices/disk/driver"), "name"),
    )
    expected = swap("<driver name={q}qemu{q} type", "<driver type")
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_insert_child_into_self_closing_parent(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.insert_child(root.find("memoryBacking"), new_element("nosharepages")),
    )
    expected = swap(
        "{i}<memoryBacking/>{n}",
        "{i}<memoryBacking>{n}{i}{i}<nosharepages/>{n}{i}</memoryBacking>{n}",
    )
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_insert_child_last_follows_sibling_indent(q, i, n):
    child = new_element("iotune", {}, new_element("total_iops_sec", text="500"))
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.insert_child(root.find("devices/disk"), child),
    )
    expected = swap(
        "{i}{i}</disk>",
        "{i}{i}{i}<iotune>{n}{i}{i}{i}{i}<total_iops_sec>500</total_iops_sec>{n}"
        "{i}{i}{i}</iotune>{n}{i}{i}</disk>",
    )
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_insert_child_after_and_before_sibling(q, i, n):
    data = render(TEMPLATE, q, i, n)
    page = new_element("memtune", {}, new_element("hard_limit", {"unit": "GiB"}, text="5"))
    after = apply_one(data, lambda ed, root: ed.insert_child(root, page, after=root.find("memory")))
    expected = swap(
        "<memory unit={q}GiB{q}>4</memory>{n}",
        "<memory unit={q}GiB{q}>4</memory>{n}{i}<memtune>{n}{i}{i}"
        "<hard_limit unit={q}GiB{q}>5</hard_limit>{n}{i}</memtune>{n}",
    )
    assert after == render(expected, q, i, n)
    before = apply_one(
        data, lambda ed, root: ed.insert_child(root, page, before=root.find("memoryBacking"))
    )
    assert before == after


@pytest.mark.parametrize("q,i,n", STYLES)
def test_insert_into_open_empty_parent(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.insert_child(
            root.find("devices/disk/target"), new_element("x", {"a": "1"})
        ),
    )
    expected = swap(
        "bus={q}virtio{q}></target>",
        "bus={q}virtio{q}>{n}{i}{i}{i}{i}<x a={q}1{q}/>{n}{i}{i}{i}</target>",
    )
    assert result == render(expected, q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_remove_element_takes_its_line(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.remove_element(root.find("memoryBacking")),
    )
    assert result == render(swap("{i}<memoryBacking/>{n}", ""), q, i, n)


@pytest.mark.parametrize("q,i,n", STYLES)
def test_remove_multiline_element_takes_its_lines(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.remove_element(root.find("devices/disk")),
    )
    start = TEMPLATE.index("{i}{i}<disk")
    end = TEMPLATE.index("{i}</devices>")
    assert result == render(TEMPLATE[:start] + TEMPLATE[end:], q, i, n)


def test_remove_element_sharing_a_line_keeps_the_rest():
    data = b"<domain><a/><b/>\n  <c/></domain>"
    doc = Document.parse(data, "t.xml")
    edit = Editor(doc).remove_element(doc.root.find("b"))
    assert apply_edits(doc, [edit]) == b"<domain><a/>\n  <c/></domain>"


@pytest.mark.parametrize("q,i,n", STYLES)
def test_replace_text(q, i, n):
    result = apply_one(
        render(TEMPLATE, q, i, n),
        lambda ed, root: ed.replace_text(root.find("memory"), "8 & more"),
    )
    expected = swap("{q}GiB{q}>4</memory>", "{q}GiB{q}>8 &amp; more</memory>")
    assert result == render(expected, q, i, n)


def test_replace_text_of_self_closing_element():
    data = b"<domain><description/></domain>"
    doc = Document.parse(data, "t.xml")
    edit = Editor(doc).replace_text(doc.root.find("description"), "hi")
    assert apply_edits(doc, [edit]) == b"<domain><description>hi</description></domain>"


def test_replace_text_refuses_non_leaf():
    doc = Document.parse(b"<domain><os><type>hvm</type></os></domain>", "t.xml")
    with pytest.raises(ValueError):
        Editor(doc).replace_text(doc.root.find("os"), "x")


def test_insert_into_one_line_document():
    data = b"<domain><devices><disk/></devices></domain>"
    doc = Document.parse(data, "t.xml")
    edit = Editor(doc).insert_child(
        doc.root.find("devices"), new_element("sound", {"model": "ich9"})
    )
    assert (
        apply_edits(doc, [edit])
        == b"<domain><devices><disk/><sound model='ich9'/></devices></domain>"
    )


def test_non_ascii_before_edit_uses_byte_offsets():
    data = (
        "<domain>\n  <title>\u00fc\u00fc\u00fc \U0001f600</title>\n  <vcpu>2</vcpu>\n</domain>\n"
    ).encode()
    doc = Document.parse(data, "t.xml")
    edit = Editor(doc).set_attribute(doc.root.find("vcpu"), "placement", "static")
    out = apply_edits(doc, [edit])
    assert out == data.replace(b"<vcpu>", b"<vcpu placement='static'>")


def test_latin1_document_edits_are_encoded_in_latin1():
    data = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<domain><title>\u00e9</title><vcpu>1</vcpu></domain>"
    ).encode("latin-1")
    doc = Document.parse(data, "t.xml")
    edit = Editor(doc).set_attribute(doc.root.find("vcpu"), "current", "\u00e9\u20ac")
    out = apply_edits(doc, [edit])
    assert out == data.replace(b"<vcpu>", b"<vcpu current='\xe9&#8364;'>")
    assert etree.fromstring(out).find("vcpu").get("current") == "\u00e9\u20ac"
