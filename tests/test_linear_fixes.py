"""--fix and --diff in time linear in the number of fixes (issue 18, D3).

Choosing fixes no longer checks every edit against every edit chosen before
it, and --diff no longer runs difflib over the whole file. Both must give what
they gave before: the choice is compared with the pairwise check it replaced,
and the diff with ``difflib.unified_diff`` byte for byte on every fixture and
corpus fix and on generated domains. Timing lives in benchmarks/run.py.
"""

from __future__ import annotations

import difflib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.errors import InputError
from domxml_lint.findings import Applicability, Edit, Finding, Fix, Severity
from domxml_lint.fixer import (
    _apply,
    apply_edits,
    choose_fixes,
    compose_spans,
    edits_conflict,
    fix_document,
    ranges_conflict,
)
from domxml_lint.linediff import grouped_opcodes, opcodes, unified_lines
from domxml_lint.runner import unified_diff
from helpers import FIXTURES
from strategies import domain_documents

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- choosing fixes -------------------------------------------------------------------------


def pairwise_choice(findings, *, unsafe):
    """The choice as it was made before: every edit against every edit taken."""
    candidates = [
        f for f in findings if f.fix is not None and f.fix.edits and (unsafe or f.fix.is_safe)
    ]
    candidates.sort(key=lambda f: (f.fix.span, f.code))
    chosen, taken = [], []
    for finding in candidates:
        edits = finding.fix.edits
        if any(edits_conflict(e, t) for e in edits for t in taken):
            continue
        if any(ranges_conflict(a, b) for i, a in enumerate(edits) for b in edits[i + 1 :]):
            continue
        chosen.append(finding)
        taken.extend(edits)
    return chosen


@st.composite
def edits(draw):
    start = draw(st.integers(0, 60))
    end = start + draw(st.sampled_from([0, 0, 1, 2, 5, 12]))
    anchor = draw(st.one_of(st.none(), st.integers(0, 8)))
    return Edit(start, end, "x", anchor=anchor)


@st.composite
def findings(draw):
    fix_edits = draw(st.lists(edits(), min_size=1, max_size=3))
    applicability = draw(st.sampled_from(list(Applicability)))
    code = draw(st.sampled_from(["DX101", "DX401", "DX404"]))
    fix = Fix(applicability, "fix", fix_edits)
    return Finding(code, "name", Severity.ERROR, "m", 1, 1, 1, 2, "/domain", fix=fix)


@SETTINGS
@given(st.lists(findings(), max_size=25), st.booleans())
def test_choice_is_the_pairwise_choice(found, unsafe):
    assert choose_fixes(found, unsafe=unsafe) == pairwise_choice(found, unsafe=unsafe)


# -- which bytes a fix kept ------------------------------------------------------------------


@SETTINGS
@given(
    st.text(alphabet="ab \n", max_size=40),
    st.lists(st.lists(edits(), max_size=4), min_size=1, max_size=3),
)
def test_kept_spans_are_bytes_the_edits_left_alone(text, rounds):
    doc = Document.parse(f"<domain>{text}</domain>".encode(), "k.xml")
    original = doc.data
    kept = [(0, 0, len(original))]
    for round_edits in rounds:
        inside = range(len("<domain>"), len(doc.data) - len("</domain>") + 1)
        chosen: list[Edit] = []
        for edit in round_edits:  # a non-conflicting set, inside the root's text
            edit = Edit(edit.start + inside.start, edit.end + inside.start, "a\n", anchor=None)
            if edit.end in inside and not any(edits_conflict(edit, c) for c in chosen):
                chosen.append(edit)
        new, kept_now = _apply(doc, chosen)
        assert new == apply_edits(doc, chosen)
        kept = compose_spans(kept, kept_now)
        doc = Document.parse(new, "k.xml")
    untouched = 0
    for old_start, new_start, length in kept:
        assert length > 0
        assert original[old_start : old_start + length] == doc.data[new_start : new_start + length]
        untouched += length
    assert untouched <= min(len(original), len(doc.data))
    assert kept == sorted(kept)
    assert [new for _, new, _ in kept] == sorted(new for _, new, _ in kept)


# -- the diff --------------------------------------------------------------------------------


def difflib_diff(name: str, old: bytes, new: bytes, encoding: str) -> str:
    """runner.unified_diff as it was, on difflib."""
    a = old.decode(encoding, "replace").splitlines(keepends=True)
    b = new.decode(encoding, "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, f"a/{name}", f"b/{name}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "d", "e\r\n", "f\r"]), max_size=30)


@SETTINGS
@given(lines, lines)
def test_hunks_are_printed_as_difflib_prints_them(a, b):
    # Given difflib's own matching, grouping and printing give its output exactly.
    blocks = difflib.SequenceMatcher(None, a, b).get_matching_blocks()
    hunks = grouped_opcodes(opcodes(blocks, len(a), len(b)))
    assert "".join(unified_lines(a, b, hunks, "a/x", "b/x")) == "".join(
        difflib.unified_diff(a, b, "a/x", "b/x")
    )


def assert_same_diff(path: str, data: bytes, linter, *, unsafe: bool = True) -> bool:
    doc = Document.parse(data, path)
    if doc.root.tag != "domain":
        return False
    fixed = fix_document(doc, linter, unsafe=unsafe)
    if not fixed.changed:
        return False
    ours = unified_diff(path, doc, fixed.data, fixed.kept)
    assert ours == difflib_diff(path.lstrip("/"), doc.data, fixed.data, doc.encoding), path
    assert apply_patch(data.decode(doc.encoding), ours) == fixed.data.decode(doc.encoding)
    return True


def apply_patch(old: str, diff: str) -> str:
    """Apply a unified diff; each hunk's context and removed lines must match."""
    old_lines = old.splitlines(keepends=True)
    out: list[str] = []
    position = 0
    diff_lines = diff.splitlines(keepends=True)[2:]
    index = 0
    while index < len(diff_lines):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", diff_lines[index])
        assert header, diff_lines[index]
        start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
        out.extend(old_lines[position:start])
        position = start
        index += 1
        while index < len(diff_lines) and not diff_lines[index].startswith("@@"):
            line = diff_lines[index]
            nxt = diff_lines[index + 1] if index + 1 < len(diff_lines) else ""
            body = line[1:]
            if nxt.startswith("\\ No newline"):
                body = body[:-1]
                index += 1
            if line[0] in " -":
                assert old_lines[position] == body
                position += 1
            if line[0] in " +":
                out.append(body)
            index += 1
    out.extend(old_lines[position:])
    return "".join(out)


def test_every_fixture_fix_diffs_as_difflib_does():
    linter = build_linter(select="ALL")
    compared = 0
    for path in sorted(FIXTURES.rglob("*.xml")):
        try:
            compared += assert_same_diff(str(path), path.read_bytes(), linter)
        except InputError:
            continue  # fixtures of hostile or broken input
    assert compared > 300


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_fix_diffs_as_difflib_does(corpus):
    linter = build_linter(select="ALL")
    compared = sum(
        assert_same_diff(str(path), path.read_bytes(), linter)
        for path in sorted((corpus / "domain").glob("*.xml"))
    )
    assert compared > 1000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain_documents(), st.booleans())
def test_generated_domain_fixes_diff_as_difflib_does(data, unsafe):
    assert_same_diff("gen.xml", data, build_linter(select="ALL"), unsafe=unsafe)


def test_a_diff_that_fixes_many_disks_is_difflibs():
    disks = "".join(
        f"    <disk type='file' device='disk'>\n"
        f"      <driver name='qemu' type='raw' io='native'/>\n"
        f"      <source file='/srv/d{i}.img'/>\n"
        f"      <target dev='vd{chr(97 + i % 26)}{i}' bus='virtio'/>\n"
        "    </disk>\n"
        for i in range(300)
    )
    data = f"<domain type='kvm'>\n  <name>m</name>\n  <devices>\n{disks}  </devices>\n</domain>"
    assert assert_same_diff("many.xml", data.encode(), build_linter(select=["DX404"]))
