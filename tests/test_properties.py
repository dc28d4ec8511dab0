"""Properties over generated documents: source map, edit locality, fix idempotence."""

from __future__ import annotations

import collections
import random
import re
import tempfile

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from domxml_lint.api import build_linter
from domxml_lint.cpuset import CpusetError, parse_cpuset
from domxml_lint.document import Document
from domxml_lint.edits import Editor, new_element
from domxml_lint.errors import InternalError
from domxml_lint.findings import Severity
from domxml_lint.fixer import apply_edits, fix_document
from fixcheck import check_trace, trace_fix
from strategies import capabilities_documents, domain_documents, xml_documents

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def qname(doc: Document, element) -> bytes:
    return re.match(rb"<([^\s/>]+)", doc.data[doc.span(element).start :]).group(1)


@pytest.mark.slow
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
            assert re.fullmatch(
                rb"</" + re.escape(name) + rb"\s*>", data[span.end_start : span.end]
            )
        for key, value in element.attrib.items():
            qualified = (
                key
                if not key.startswith("{")
                else next(
                    f"{p}:{etree.QName(key).localname}"
                    for p, ns in element.nsmap.items()
                    if ns == etree.QName(key).namespace
                )
            )
            attr = doc.attribute_span(element, qualified)
            assert attr is not None
            raw = data[attr.value_start : attr.value_end].decode()
            assert (
                etree.fromstring(f"<a v={attr.quote}{raw}{attr.quote}/>".encode()).get("v") == value
            )
        parent = element.getparent()
        if parent is not None:
            outer = doc.span(parent)
            assert outer.start_end <= span.start and span.end <= outer.end_start


@pytest.mark.slow
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
        for key, choices in (
            ("cache", ["none", "unsafe", "writeback", "directsync", None]),
            ("io", ["native", "threads", None]),
        ):
            value = draw(st.sampled_from(choices))
            if value:
                attrs.append((key, value))
        attrs = draw(st.permutations(attrs))
        driver = " ".join(f"{k}={quote}{v}{quote}" for k, v in attrs)
        comment = (
            f"{indent * 2}<!-- disk {index} \u00e9 -->{newline}" if draw(st.booleans()) else ""
        )
        disks.append(
            f"{comment}{indent * 2}<disk type={quote}file{quote}>{newline}"
            f"{indent * 3}<driver {driver}/>{newline}"
            f"{indent * 3}<target dev={quote}vd{chr(97 + index)}{quote} "
            f"bus={quote}virtio{quote}/>{newline}"
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


# -- realistic domains: the safety properties of lint and fix ----------------------------------

REALISTIC = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@pytest.fixture(scope="module")
def domain_schema(corpus):
    return etree.RelaxNG(etree.parse(str(corpus / "schemas" / "domain.rng")))


@pytest.fixture(scope="module")
def capability_schema(corpus):
    return etree.RelaxNG(etree.parse(str(corpus / "schemas" / "capability.rng")))


def host_from(capabilities: bytes | None):
    """The host model loaded from a drawn capabilities document, once the host model exists."""
    if capabilities is None:
        return None
    try:
        from domxml_lint.host import load_host
    except ImportError:
        return None  # host-aware rules are then skipped, as the CLI skips them without --host
    with tempfile.NamedTemporaryFile(suffix=".xml") as handle:
        handle.write(capabilities)
        handle.flush()
        return load_host(handle.name)


_NO_HOST_LINTER = []


def linter_for(host):
    """``--select ALL``: every registered rule, whichever branch added it."""
    if host is not None:
        return build_linter(select="ALL", host=host)
    if not _NO_HOST_LINTER:
        _NO_HOST_LINTER.append(build_linter(select="ALL"))
    return _NO_HOST_LINTER[0]


maybe_hosts = st.none() | capabilities_documents()


@SETTINGS
@given(domain_documents(valid_only=True))
def test_generated_domains_are_schema_valid(domain_schema, data):
    # the strategy writes what libvirt accepts: schema preservation is tested on real shapes
    assert domain_schema.validate(etree.fromstring(data, _SAFE_PARSER)), domain_schema.error_log


@settings(max_examples=30, deadline=None)
@given(capabilities_documents())
def test_generated_hosts_are_schema_valid(capability_schema, data):
    assert capability_schema.validate(etree.fromstring(data, _SAFE_PARSER)), (
        capability_schema.error_log
    )


@pytest.mark.slow
@REALISTIC
@given(domain_documents(), maybe_hosts)
def test_lint_never_crashes(data, capabilities):
    linter = linter_for(host_from(capabilities))
    try:
        findings = linter.check(Document.parse(data, "gen.xml")).findings
    except InternalError as exc:  # a rule raised: that is the crash this property hunts
        raise AssertionError(str(exc)) from exc
    for finding in findings:
        assert finding.line >= 1 and finding.column >= 1
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column)


# Rule interactions the safety net found on rule branches, kept as fixed examples.
LOCKED_WITH_LOW_SWAP_LIMIT = (  # adding hard_limit for <locked/> must respect swap_hard_limit
    b"<domain type='kvm'>\n  <name>g</name>\n  <memory unit='GiB'>4</memory>\n"
    b"  <vcpu placement='static'>2</vcpu>\n  <memoryBacking>\n    <locked/>\n  </memoryBacking>\n"
    b"  <memtune>\n    <swap_hard_limit unit='GiB'>4</swap_hard_limit>\n  </memtune>\n"
    b"  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n"
)
HUGEPAGE_ROUNDING_PAST_HARD_LIMIT = (  # rounding memory up to huge pages must respect hard_limit
    b"<domain type='kvm'>\n  <name>g</name>\n  <memory unit='KiB'>3035251</memory>\n"
    b"  <vcpu placement='static'>2</vcpu>\n  <cpu mode='host-passthrough'>\n    <numa>\n"
    b"      <cell id='0' cpus='0-1' memory='3035251' unit='KiB'/>\n    </numa>\n  </cpu>\n"
    b"  <memoryBacking>\n    <hugepages>\n      <page size='1' unit='GiB'/>\n    </hugepages>\n"
    b"  </memoryBacking>\n  <memtune>\n    <hard_limit unit='KiB'>3035251</hard_limit>\n"
    b"  </memtune>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n"
)
REALTIME_PARTLY_FIXABLE = (  # several problems at one element: fixing some is not a relapse
    b"<domain type='kvm'>\n  <name>g</name>\n  <memory unit='GiB'>1</memory>\n"
    b"  <vcpu placement='static'>1</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='0'/>\n"
    b"    <vcpusched vcpus='0-0' scheduler='fifo' priority='1'/>\n  </cputune>\n"
    b"  <os>\n    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>\n  </os>\n"
    b"  <devices/>\n</domain>\n"
)


@pytest.mark.slow
@REALISTIC
@given(domain_documents(), maybe_hosts, st.booleans())
@example(LOCKED_WITH_LOW_SWAP_LIMIT, None, True)
@example(HUGEPAGE_ROUNDING_PAST_HARD_LIMIT, None, True)
@example(REALTIME_PARTLY_FIXABLE, None, True)
def test_fix_parses_is_idempotent_local_and_adds_no_errors(data, capabilities, unsafe):
    linter = linter_for(host_from(capabilities))
    doc = Document.parse(data, "gen.xml")
    trace = trace_fix(doc, linter, unsafe=unsafe)
    event(f"fix passes: {len(trace.passes)}")
    fixed = trace.final.data
    etree.fromstring(fixed, _SAFE_PARSER)  # parses
    check_trace(trace)  # local edits, untouched bytes elsewhere, no new error, nothing reappears
    again = fix_document(Document.parse(fixed, "gen.xml"), linter, unsafe=unsafe)
    assert again.data == fixed and not again.applied
    errors_before = collections.Counter(
        f.code for f in trace.initial_findings if f.severity is Severity.ERROR
    )
    # A yielding rule (the schema) is silent on an element while another rule's error
    # speaks there; fixing that error lets it speak. Count what it sees on its own.
    yielding = [r.code for r in linter.rules if r.yields]
    if yielding:
        alone = build_linter(select=yielding).check(doc).findings
        for code in yielding:
            errors_before[code] = sum(1 for f in alone if f.code == code)
    errors_after = collections.Counter(
        f.code for f in trace.final_findings if f.severity is Severity.ERROR
    )
    assert not errors_after - errors_before, "the fix left more errors of some rule than it found"


@pytest.mark.slow
@REALISTIC
@given(domain_documents(valid_only=True), maybe_hosts)
def test_fix_preserves_schema_validity(domain_schema, data, capabilities):
    linter = linter_for(host_from(capabilities))
    fixed = fix_document(Document.parse(data, "gen.xml"), linter, unsafe=True).data
    assert domain_schema.validate(etree.fromstring(fixed, _SAFE_PARSER)), (
        f"{domain_schema.error_log.last_error}\n{fixed.decode()}"
    )


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(domain_documents(), min_size=2, max_size=5), st.randoms(use_true_random=False))
def test_file_order_does_not_change_findings(documents, shuffler):
    def run(order):
        linter = build_linter(select="ALL")  # one linter across files, as the CLI uses it
        return {
            i: [
                (f.code, f.line, f.column, f.message, f.path)
                for f in linter.check(Document.parse(documents[i], f"f{i}.xml")).findings
            ]
            for i in order
        }

    forward = run(range(len(documents)))
    shuffled_order = list(range(len(documents)))
    shuffler.shuffle(shuffled_order)
    assert run(shuffled_order) == forward
    assert run(reversed(range(len(documents)))) == forward


# -- the core's linear-time rewrites agree with the simple versions ------------------------------


def _reference_cpuset(text: str, limit: int = 16384) -> frozenset[int]:
    ids: set[int] = set()
    for field in text.split(","):
        field = field.strip()
        if field.startswith("^"):
            ids.discard(int(field[1:]))
        elif "-" in field:
            low, high = (int(x) for x in field.split("-"))
            ids.update(range(low, high + 1))
        else:
            ids.add(int(field))
    return frozenset(ids)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 200).map(str),
            st.tuples(st.integers(0, 200), st.integers(0, 60)).map(
                lambda t: f"{t[0]}-{t[0] + t[1]}"
            ),
            st.integers(0, 200).map(lambda n: f"^{n}"),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_cpuset_bitmap_matches_a_plain_set(fields):
    text = ",".join(fields)
    expected = _reference_cpuset(text)
    if not expected:
        with pytest.raises(CpusetError):
            parse_cpuset(text)
    else:
        assert parse_cpuset(text) == expected


@pytest.mark.slow
@SETTINGS
@given(xml_documents())
def test_paths_and_columns_match_lxml_and_plain_decoding(data):
    doc = Document.parse(data, "gen.xml")
    tree = doc.root.getroottree()
    elements = list(doc.elements)
    random.Random(len(data)).shuffle(elements)  # the caches must not depend on call order
    for element in elements:
        assert doc.xpath_of(element) == tree.getpath(element)
        offset = doc.span(element).start
        line_start = data.rfind(b"\n", 0, offset) + 1
        column = len(data[line_start:offset].decode("utf-8")) + 1
        assert doc.position(offset) == (data.count(b"\n", 0, offset) + 1, column)
