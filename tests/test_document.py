"""Parsing: safety, encodings, errors with file/line/column, the source map and positions."""

from __future__ import annotations

import codecs
import time

import pytest
from lxml import etree

from domxml_lint.document import MAX_FILE_BYTES, Document, sniff_root_name
from domxml_lint.errors import HostileInputError, InputError
from helpers import run_cli

SIMPLE = b"<domain type='kvm'><name>x</name><devices><disk type='file'/></devices></domain>"


def test_parse_keeps_original_bytes():
    doc = Document.parse(SIMPLE, "x.xml")
    assert doc.data is SIMPLE
    assert doc.root.tag == "domain"
    assert [e.tag for e in doc.elements] == ["domain", "name", "devices", "disk"]


@pytest.mark.parametrize(
    "data,fragment,line",
    [
        (b"<domain><name>x</name>", "not well-formed XML", 1),
        (b"<domain>\n<name>x</nam>\n</domain>", "not well-formed XML", 2),
        (b"", "not well-formed XML", 1),
        (b"<domain>&foo;</domain>", "not well-formed XML", 1),
        (b"\x00\x01\x02binary", "binary data", 1),
    ],
)
def test_malformed_input_names_file_and_line(data, fragment, line):
    with pytest.raises(InputError) as info:
        Document.parse(data, "vm.xml")
    assert fragment in info.value.message
    assert info.value.line == line
    assert str(info.value).startswith(f"vm.xml:{line}")


def test_utf16_is_refused_with_advice():
    data = "<?xml version='1.0' encoding='UTF-16'?><domain/>".encode("utf-16")
    with pytest.raises(InputError) as info:
        Document.parse(data, "w.xml")
    assert "UTF-16" in info.value.message and "iconv" in info.value.hint


def test_utf8_bom_is_honoured_and_columns_skip_it():
    data = codecs.BOM_UTF8 + b"<domain><name>x</name></domain>"
    doc = Document.parse(data, "bom.xml")
    assert doc.encoding == "utf-8"
    assert doc.position(doc.span(doc.root).start) == (1, 1)
    assert doc.position(doc.span(doc.elements[1]).start) == (1, 9)


def test_declared_latin1_is_honoured():
    data = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<domain><name>\u00e9t\u00e9</name><vcpu>1</vcpu></domain>"
    ).encode("latin-1")
    doc = Document.parse(data, "l1.xml")
    assert doc.encoding == "iso8859-1"
    assert doc.root.findtext("name") == "\u00e9t\u00e9"
    vcpu = doc.root.find("vcpu")
    assert doc.position(doc.span(vcpu).start) == (2, 25)


def test_columns_count_characters_not_bytes():
    data = "<domain>\n  <name>\u00e9\u00e9\u00e9</name><vcpu>1</vcpu>\n</domain>".encode()
    doc = Document.parse(data, "u.xml")
    vcpu = doc.root.find("vcpu")
    assert doc.position(doc.span(vcpu).start) == (2, 19)


def test_wrong_declared_encoding_is_an_error():
    data = "<?xml version='1.0' encoding='UTF-8'?><domain><name>\u00e9</name></domain>".encode(
        "latin-1"
    )
    with pytest.raises(InputError) as info:
        Document.parse(data, "bad.xml")
    assert info.value.line == 1


def test_size_limit():
    data = b"<domain>" + b" " * MAX_FILE_BYTES + b"</domain>"
    with pytest.raises(InputError) as info:
        Document.parse(data, "huge.xml")
    assert "10 MiB" in info.value.message


def test_source_map_spans():
    data = (
        b"<domain a='1'>\n  <x b=\"2\" >t</x >\n  <y/>\n  <!-- c -->\n"
        b"  <z\n    c='>'\n  />\n</domain>"
    )
    doc = Document.parse(data, "s.xml")
    spans = {el.tag: doc.span(el) for el in doc.elements}
    assert data[spans["x"].start : spans["x"].start_end] == b'<x b="2" >'
    assert data[spans["x"].end_start : spans["x"].end] == b"</x >"
    assert spans["y"].self_closing and data[spans["y"].start : spans["y"].end] == b"<y/>"
    assert data[spans["z"].start : spans["z"].end] == b"<z\n    c='>'\n  />"
    attr = doc.attribute_span(doc.elements[3], "c")
    assert data[attr.value_start : attr.value_end] == b">" and attr.quote == "'"
    assert doc.attribute_span(doc.elements[3], "missing") is None


def test_style_detection():
    doc = Document.parse(b'<domain>\r\n\t<name a="1">x</name>\r\n</domain>', "s.xml")
    assert (doc.style.quote, doc.style.indent, doc.style.newline) == ('"', "\t", "\r\n")
    doc = Document.parse(b"<domain>\n    <a x='1'>\n        <b/>\n    </a>\n</domain>", "s.xml")
    assert (doc.style.quote, doc.style.indent, doc.style.newline) == ("'", "    ", "\n")


def test_sniff_root_name():
    assert sniff_root_name(b"<?xml version='1.0'?>\n<!-- hi -->\n<domain/>") == "domain"
    assert sniff_root_name(b"<project xmlns='x'/>") == "project"
    assert sniff_root_name(b"<!DOCTYPE network [<!ENTITY a 'b'>]>\n<network/>") == "network"
    assert sniff_root_name(b"not xml") is None


# -- hostile input ---------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE domain [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<domain type='kvm'><name>&lol9;</name></domain>
"""


def _external_entity(secret_path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file://{secret_path}">]>\n'
        "<domain type='kvm'><name>&xxe;</name></domain>\n"
    ).encode()


def _external_dtd(dtd_path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE domain SYSTEM "file://{dtd_path}">\n'
        "<domain type='kvm'><name>&secret;</name></domain>\n"
    ).encode()


def test_billion_laughs_rejected_in_library():
    start = time.perf_counter()
    with pytest.raises(HostileInputError) as info:
        Document.parse(BILLION_LAUGHS, "bomb.xml")
    assert time.perf_counter() - start < 1.0
    assert (info.value.line, info.value.column) == (2, 1)
    assert "DOCTYPE" in info.value.message


def test_xinclude_rejected():
    data = (
        b"<domain xmlns:xi='http://www.w3.org/2001/XInclude'>\n"
        b"  <xi:include href='/etc/passwd' parse='text'/>\n</domain>"
    )
    with pytest.raises(HostileInputError) as info:
        Document.parse(data, "xi.xml")
    assert info.value.line == 2 and "XInclude" in info.value.message


def test_doctype_text_in_comment_is_not_a_doctype():
    doc = Document.parse(b"<!-- <!DOCTYPE x> --><domain><name>x</name></domain>", "c.xml")
    assert doc.root.tag == "domain"


@pytest.mark.parametrize("kind", ["billion-laughs", "external-entity", "external-dtd"])
def test_hostile_files_exit_2_fast_without_reading(tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "TOP-SECRET-FROM-DTD">')
    data = {
        "billion-laughs": BILLION_LAUGHS,
        "external-entity": _external_entity(secret),
        "external-dtd": _external_dtd(dtd),
    }[kind]
    target = tmp_path / "vm.xml"
    target.write_bytes(data)
    before = (secret.stat().st_atime_ns, dtd.stat().st_atime_ns)
    start = time.perf_counter()
    for extra in ([], ["--fix"], ["--output-format", "json"]):
        result = run_cli(str(target), *extra, timeout=30)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert b"TOP-SECRET" not in output
        assert f"{target}:".encode() in result.stderr and b"DOCTYPE" in result.stderr
    # three runs, each well under a second of work (interpreter start included)
    assert time.perf_counter() - start < 3 * 2.0
    assert target.read_bytes() == data
    assert (secret.stat().st_atime_ns, dtd.stat().st_atime_ns) == before


# -- linear-time positions and paths (hostile one-line files) ----------------------------


def _naive_column(doc: Document, offset: int) -> int:
    line_start = doc.data.rfind(b"\n", 0, offset) + 1
    if line_start == 0 and doc.data.startswith(codecs.BOM_UTF8):
        line_start = len(codecs.BOM_UTF8)
    return len(doc.data[line_start:offset].decode(doc.encoding)) + 1


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1", "windows-1251"])
def test_columns_across_checkpoints_match_decoding(encoding):
    # Multi-byte characters straddle the byte -> character checkpoints of a long line.
    samples = {"UTF-8": "\u00e9\u6f22\U0001f600", "ISO-8859-1": "\u00e9", "windows-1251": "\u0416"}
    text = samples[encoding]
    body = "".join(f"<v n='{text * (i % 7)}'/>" for i in range(3000))
    source = (
        f"<?xml version='1.0' encoding='{encoding}'?>\n"
        f"<domain><name>{text}</name>{body}\n<x/>{body}</domain>"
    )
    data = source.encode(encoding)
    doc = Document.parse(data, "enc.xml")
    assert len(data) > 3 * 4096
    for element in doc.elements:
        offset = doc.span(element).start
        line = doc.data.count(b"\n", 0, offset) + 1
        assert doc.position(offset) == (line, _naive_column(doc, offset))


def test_xpath_of_matches_lxml_getpath():
    data = (
        b"<domain xmlns:q='urn:q'><devices><disk/><disk><driver/></disk><q:x/><q:x/>"
        b"<interface/><!-- c --><disk/></devices><q:y><q:z/><a/></q:y></domain>"
    )
    doc = Document.parse(data, "p.xml")
    tree = doc.root.getroottree()
    for element in reversed(doc.elements):  # children before parents: the cache must not care
        assert doc.xpath_of(element) == tree.getpath(element)


def test_element_limit_names_the_line(tmp_path):
    from domxml_lint.document import MAX_ELEMENTS

    data = b"<domain>\n" + b"<a/>\n" * MAX_ELEMENTS + b"</domain>\n"
    with pytest.raises(InputError) as info:
        Document.parse(data, "many.xml")
    # the root is element 1, so the (MAX_ELEMENTS + 1)th element is the last <a/>, on its line
    assert info.value.line == MAX_ELEMENTS + 1
    assert f"more than {MAX_ELEMENTS:,} elements" in info.value.message
    # comments full of '<' do not count as elements
    commented = b"<domain>" + b"<!-- <a/> -->" * (MAX_ELEMENTS + 1) + b"</domain>"
    assert Document.parse(commented, "c.xml").root.tag == "domain"


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"<domain>" + b"<a>" * 300 + b"</a>" * 300 + b"</domain>", "Excessive depth"),
        (b"<domain><name a='" + b"x" * (MAX_FILE_BYTES - 100) + b"'/></domain>", "Buffer size"),
    ],
)
def test_parser_limits_are_one_line_without_libxml2_advice(data, fragment):
    with pytest.raises(InputError) as info:
        Document.parse(data, "limit.xml")
    text = str(info.value)
    assert "exceeds a parser limit" in text and fragment in text
    assert "\n" not in text and "XML_PARSE_HUGE" not in text


@pytest.mark.parametrize("encoding", ["EUC-JP", "Shift_JIS", "GB18030", "Big5", "ISO-2022-JP"])
def test_multibyte_legacy_encodings_are_refused_with_advice(encoding):
    # The byte-offset source map (expat) cannot read them; they used to surface as an
    # "internal error" in the first rule that located a finding.
    data = (
        f"<?xml version='1.0' encoding='{encoding}'?>\n<domain type='kvm'><name>x</name>"
        "<devices><disk><driver io='native'/></disk></devices></domain>"
    ).encode("ascii")
    with pytest.raises(InputError) as info:
        Document.parse(data, "legacy.xml")
    assert "is not supported" in info.value.message and "iconv" in info.value.hint
    assert info.value.line == 1


def test_positions_after_many_lookups_use_the_line_table():
    data = b"<domain>\n" + b"".join(b"  <x a='1'/>\n" for _ in range(40)) + b"</domain>\n"
    doc = Document.parse(data, "p.xml")
    spans = [doc.span(e) for e in doc.elements[1:]]
    assert [doc.position(s.start) for s in spans] == [(line, 3) for line in range(2, 42)]


@pytest.mark.parametrize(
    "text",
    [
        "<domain><a/><b>x</b></domain>",
        "<?xml version='1.0'?><!-- <a><b> --><domain><![CDATA[<c></c>]]><d/></domain>",
        "<domain><!-- </a> <b/> --><?pi <e/>?><f></f></domain>",
    ],
)
def test_the_start_tag_bound_never_counts_fewer_than_the_elements(text):
    from domxml_lint.document import _start_tags_at_most

    data = text.encode()
    assert _start_tags_at_most(data) >= len(list(etree.fromstring(data).iter(etree.Element)))


def test_a_file_with_many_end_tags_but_few_elements_is_read(monkeypatch):
    # Over MAX_ELEMENTS '<' in all, under it in start tags: no exact count is needed.
    from domxml_lint import document

    def never(data, path):
        raise AssertionError("counted exactly")

    monkeypatch.setattr(document, "_reject_too_many_elements", never)
    pairs = document.MAX_ELEMENTS // 2 + 10
    data = ("<domain>" + "<a></a>" * pairs + "</domain>").encode()
    assert len(Document.parse(data).elements) == pairs + 1
