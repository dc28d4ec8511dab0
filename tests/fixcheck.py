"""Checking what a fix did, pass by pass: edits stay local, nothing outside changes, no new errors.

``trace_fix`` replays the fixer's loop with its own functions (``choose_fixes``,
``apply_edits``) and keeps every intermediate document; it asserts that the
replay ends with exactly the bytes ``fix_document`` produces, so the checks
below judge the real fixer.

The checks, for each pass:

- every edit lies inside one element's start tag (after its name), or inside
  its content without cutting a child element in two, and an edit that removes
  whole elements inserts none (a rewrite is not a minimal edit);
- every element no edit touches is byte-identical in the new document, found
  there by counting the elements the pass removed and inserted before it
  (this is "bytes outside the fixed elements are untouched");
- an element whose start tag was edited keeps its name, and no more of its
  attributes changed than edits touched its start tag;
- no error-severity finding appears that was not there before, following
  element paths through the same mapping;
- over the whole fix, no finding that was fixed is found again (same rule,
  element and message) in the final document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from domxml_lint.document import Document
from domxml_lint.findings import Edit, Finding, Severity
from domxml_lint.fixer import MAX_PASSES, apply_edits, choose_fixes, fix_document
from domxml_lint.linter import Linter

_NAME_END = re.compile(rb"<[^\s/>]+")
_START_TAG_IN_CONTENT = re.compile(r"<(?![/!?])")


@attrs.frozen
class Pass:
    before: Document
    chosen: tuple[Finding, ...]
    after: Document
    findings_before: tuple[Finding, ...]
    findings_after: tuple[Finding, ...]

    @property
    def edits(self) -> list[Edit]:
        return [e for f in self.chosen for e in f.fix.edits]  # type: ignore[union-attr]


@attrs.frozen
class FixTrace:
    passes: tuple[Pass, ...]
    initial_findings: tuple[Finding, ...]
    final: Document

    @property
    def applied(self) -> list[Finding]:
        return [f for p in self.passes for f in p.chosen]

    @property
    def final_findings(self) -> tuple[Finding, ...]:
        return self.passes[-1].findings_after if self.passes else self.initial_findings


def trace_fix(doc: Document, linter: Linter, *, unsafe: bool) -> FixTrace:
    """Replay the fix loop keeping each pass; agrees with ``fix_document`` byte for byte."""
    passes: list[Pass] = []
    initial = tuple(linter.check(doc).findings)
    findings = initial
    current = doc
    for _ in range(MAX_PASSES):
        chosen = choose_fixes(findings, unsafe=unsafe)
        if not chosen:
            break
        edits = [e for f in chosen for e in f.fix.edits]  # type: ignore[union-attr]
        after = Document.parse(apply_edits(current, edits), current.path)
        after_findings = tuple(linter.check(after).findings)
        passes.append(Pass(current, tuple(chosen), after, findings, after_findings))
        current, findings = after, after_findings
    assert fix_document(doc, linter, unsafe=unsafe).data == current.data, (
        "replay differs from fixer"
    )
    return FixTrace(tuple(passes), initial, current)


def element_mapping(step: Pass) -> dict[int, int]:
    """Old element index -> new element index, for elements the pass did not remove."""
    doc, edits = step.before, sorted(step.edits, key=lambda e: (e.start, e.end))
    spans = doc.spans
    removed = [any(e.start <= s.start and s.end <= e.end for e in edits) for s in spans]
    inserted = [len(_START_TAG_IN_CONTENT.findall(e.content)) for e in edits]
    mapping: dict[int, int] = {}
    removed_before = 0
    for index, span in enumerate(spans):
        if removed[index]:
            removed_before += 1
            continue
        inserted_before = sum(
            n for e, n in zip(edits, inserted, strict=True) if e.end <= span.start
        )
        mapping[index] = index - removed_before + inserted_before
    expected_total = len(spans) - sum(removed) + sum(inserted)
    assert len(step.after.elements) == expected_total, (
        f"{len(step.after.elements)} elements after the pass, expected {expected_total}: an edit "
        "created or destroyed elements outside its own text"
    )
    return mapping


def check_pass_is_local(step: Pass) -> dict[int, int]:
    """All the locality checks for one pass; returns the element mapping."""
    doc, after = step.before, step.after
    spans = doc.spans
    edits = step.edits
    for edit in edits:
        _check_edit_placement(doc, edit)
    mapping = element_mapping(step)
    for old_index, new_index in mapping.items():
        span = spans[old_index]
        old_element, new_element = doc.elements[old_index], after.elements[new_index]
        assert new_element.tag == old_element.tag, (
            f"{doc.xpath_of(old_element)} became {new_element.tag}"
        )
        touching = [e for e in edits if e.start < span.end and e.end > span.start]
        if not touching:
            new_span = after.span(new_element)
            assert after.data[new_span.start : new_span.end] == doc.data[span.start : span.end], (
                f"{doc.xpath_of(old_element)} changed although no edit touched it"
            )
            continue
        in_start_tag = [e for e in touching if e.end <= span.start_end]
        if not in_start_tag:
            new_span = after.span(new_element)
            assert (
                after.data[new_span.start : new_span.start_end]
                == doc.data[span.start : span.start_end]
            )
        changed = {
            k
            for k in set(old_element.attrib) | set(new_element.attrib)
            if old_element.get(k) != new_element.get(k)
        }
        assert len(changed) <= len(in_start_tag), (
            f"{doc.xpath_of(old_element)}: attributes {sorted(changed)} changed by "
            f"{len(in_start_tag)} start-tag edit(s)"
        )
    return mapping


def _check_edit_placement(doc: Document, edit: Edit) -> None:
    """Inside one start tag after the name, or inside content without cutting a child."""
    container = None
    for element, span in zip(doc.elements, doc.spans, strict=True):
        if edit.start == edit.end:  # an insertion at an element's very start or end is outside it
            inside = span.start < edit.start < span.end
        else:
            covers_it = edit.start <= span.start and span.end <= edit.end
            inside = span.start <= edit.start and edit.end <= span.end and not covers_it
        if inside:
            container = (element, span)  # document order: the last one is the deepest
        elif span.start > edit.end:
            break
    if container is None:
        root = doc.spans[0]
        # before or after the root: only comments and whitespace live there (DX001's edits)
        assert edit.end <= root.start or edit.start >= root.end, f"edit {edit} straddles the root"
        return
    element, span = container
    if edit.end <= span.start_end:
        name_end = _NAME_END.match(doc.data, span.start).end()
        assert edit.start >= name_end, f"edit {edit} rewrites the name of {doc.xpath_of(element)}"
        return
    assert span.start_end <= edit.start and edit.end <= span.end_start, (
        f"edit {edit} straddles a tag of {doc.xpath_of(element)}"
    )
    covered = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        child_span = doc.span(child)
        inside = edit.start <= child_span.start and child_span.end <= edit.end
        apart = edit.end <= child_span.start or edit.start >= child_span.end
        assert inside or apart, f"edit {edit} cuts {doc.xpath_of(child)} in two"
        if inside:
            covered.append(doc.xpath_of(child))
    # Removing elements is a fix; rewriting them wholesale (to change one attribute) is not.
    assert not (covered and _START_TAG_IN_CONTENT.search(edit.content)), (
        f"edit {edit} inserts elements while removing {covered}: rewrite, not a minimal edit"
    )


def _yields(code: str) -> bool:
    from domxml_lint.plugins import load_ruleset

    found = load_ruleset(entry_points=False).get(code)
    return found is not None and found.yields


def _error_keys(doc: Document, findings: Sequence[Finding]) -> set[tuple[str, str]]:
    return {(f.code, f.path) for f in findings if f.severity is Severity.ERROR}


def check_no_new_errors(step: Pass, mapping: dict[int, int]) -> None:
    """Errors after the pass are errors that were there before (paths followed through the pass)."""
    doc, after = step.before, step.after
    index_of_path = {doc.xpath_of(el): i for i, el in enumerate(doc.elements)}
    carried = set()
    yielding = {f.code for f in step.findings_after if _yields(f.code)}
    for code, path in _error_keys(doc, step.findings_before):
        index = index_of_path.get(path)
        if index is None:
            carried.add((code, path))  # not an element path (a comment): keep as is
        elif index in mapping:
            moved = after.xpath_of(after.elements[mapping[index]])
            carried.add((code, moved))
            # A yielding rule (the schema) was silent there only because this error spoke.
            carried.update((other, moved) for other in yielding)
    new_errors = _error_keys(after, step.findings_after) - carried
    assert not new_errors, (
        f"fixes {[f.code for f in step.chosen]} introduced errors {sorted(new_errors)}"
    )


def check_fixed_findings_do_not_reappear(trace: FixTrace) -> None:
    """A finding fixed in a pass is not found again, with the same message at the same element,
    in the final document. (One rule may report several problems at one element; a fix
    for one of them does not have to fix the others.)"""
    final_keys = {(f.code, f.path, f.message) for f in trace.final_findings}
    for number, step in enumerate(trace.passes):
        element_paths = {step.before.xpath_of(el) for el in step.before.elements}
        for finding in step.chosen:
            path = finding.path
            if path not in element_paths:
                continue  # a comment's finding: its path does not single it out
            for later in trace.passes[number:]:
                index = {
                    later.before.xpath_of(el): i for i, el in enumerate(later.before.elements)
                }.get(path)
                if index is None:
                    break
                mapping = element_mapping(later)
                if index not in mapping:
                    path = None
                    break
                path = later.after.xpath_of(later.after.elements[mapping[index]])
            if path is not None:
                assert (finding.code, path, finding.message) not in final_keys, (
                    f"{finding.code} at {finding.path} was fixed but is found again at {path}"
                )


def check_trace(trace: FixTrace) -> None:
    for step in trace.passes:
        mapping = check_pass_is_local(step)
        check_no_new_errors(step, mapping)
    check_fixed_findings_do_not_reappear(trace)
