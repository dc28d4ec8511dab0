"""The source map (a byte scan) against expat, an independent XML parser, as the oracle.

expat reports where every start tag begins and where every element's end event
fires; the spans the document computes must agree with it on tricky hand-written
markup, on generated documents and on every file of the shared corpus.
"""

from __future__ import annotations

import xml.parsers.expat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from domxml_lint.document import Document, ElementSpan
from domxml_lint.errors import InputError
from strategies import domain_documents, xml_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xml"


def expat_spans(data: bytes) -> list[ElementSpan]:
    """Spans from expat's byte positions: the start event is at '<', an end tag's at '</',
    and a self-closing tag's end event just past '/>'."""
    parser = xml.parsers.expat.ParserCreate()
    starts: list[int] = []
    ends: list[int] = [0]
    open_stack: list[int] = []

    def on_start(_name, _attrs):
        open_stack.append(len(starts))
        starts.append(parser.CurrentByteIndex)
        ends.append(0)

    def on_end(_name):
        ends[open_stack.pop() + 1] = parser.CurrentByteIndex

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.Parse(data, True)
    spans = []
    for start, end_event in zip(starts, ends[1:], strict=True):
        tag_end = start
        quote = None
        while True:  # the first '>' outside quotes ends the start tag
            byte = data[tag_end : tag_end + 1]
            if quote:
                quote = None if byte == quote else quote
            elif byte in (b"'", b'"'):
                quote = byte
            elif byte == b">":
                break
            tag_end += 1
        start_end = tag_end + 1
        if data[tag_end - 1 : tag_end] == b"/":
            spans.append(ElementSpan(start, start_end, start_end, start_end))
        else:
            spans.append(ElementSpan(start, start_end, end_event, data.index(b">", end_event) + 1))
    return spans


def assert_agrees(data: bytes) -> None:
    doc = Document.parse(data, "map.xml")
    assert doc.spans == expat_spans(data)
    # One element at a time, in a fresh document, as a rule asks for them.
    fresh = Document.parse(data, "map.xml")
    for element, expected in zip(reversed(fresh.elements), reversed(doc.spans), strict=True):
        assert fresh.span(element) == expected


TRICKY = """<?xml version='1.0' encoding='UTF-8'?>
<!-- leading comment with <domain> and </domain> inside -->
<?pi with a <tag> and </tag>?>
<domain type='kvm'>
  <name>a&lt;b</name>
  <!-- <disk type='file'> </disk> -->
  <description><![CDATA[<not-an-element/></description>]]></description>
  <devices
      >
    <disk type="file" device='disk'><source file='/x>y'/><target dev='vda'
          bus='virtio'/><?pi </disk>?></disk>
    <disk type='file' device='disk'></disk>
    <controller type='pci'><controller-like/><!-- </controller> --></controller>
    <x><x><x/></x ></x>
  </devices>
  <metadata><![CDATA[]]></metadata>
</domain>
<!-- trailing </domain> -->
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_tricky_markup_matches_expat(newline, bom):
    assert_agrees(bom + TRICKY.replace("\n", newline).encode())


def test_non_ascii_and_single_byte_encodings_match_expat():
    text = TRICKY.replace("<name>a&lt;b</name>", "<name>café <!--é<-->ü</name>")
    assert_agrees(text.encode("utf-8"))
    latin = text.replace("encoding='UTF-8'", "encoding='ISO-8859-1'").encode("latin-1")
    assert_agrees(latin)


def test_a_comment_inside_text_does_not_end_the_element():
    data = b"<domain><name>a<!-- </name> -->b</name><uuid/></domain>"
    doc = Document.parse(data, "x.xml")
    name = doc.elements[1]
    span = doc.span(name)
    assert data[span.end_start : span.end] == b"</name>"
    assert data[span.start : span.end] == b"<name>a<!-- </name> -->b</name>"


def test_the_scan_refuses_to_guess_when_the_tree_disagrees():
    # lxml's recovery is off, so this cannot happen with parsed input; a document whose bytes
    # were swapped underneath must fail loudly, not map elements to the wrong bytes.
    doc = Document.parse(b"<domain><a/><b/></domain>", "x.xml")
    doc.data = b"<domain><a/><b/><c/></domain>"
    with pytest.raises(InputError, match="source map has 4 elements but the tree has 3"):
        doc.span(doc.elements[1])


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_documents())
def test_generated_documents_match_expat(data):
    assert_agrees(data)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain_documents())
def test_generated_domains_match_expat(data):
    assert_agrees(data)


def test_bundled_fixtures_match_expat():
    files = sorted(FIXTURES.rglob("*.xml"))
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        if b"<!DOCTYPE" in data:
            continue  # refused before any source map is made
        try:
            Document.parse(data, str(path))
        except InputError:
            continue  # deliberately broken fixtures
        assert_agrees(data)


@pytest.mark.slow
@pytest.mark.corpus
def test_every_corpus_domain_matches_expat(corpus):
    files = sorted((corpus / "domain").glob("*.xml"))
    assert len(files) > 2500
    for path in files:
        assert_agrees(path.read_bytes())
