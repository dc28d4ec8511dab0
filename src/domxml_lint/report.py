"""Turning per-file results into output: text and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import attrs

from .errors import InputError
from .findings import Finding


@attrs.define
class FileResult:
    """What happened to one input file."""

    path: str
    findings: list[Finding] = attrs.field(factory=list)
    applied: list[Finding] = attrs.field(factory=list)
    error: InputError | None = None
    skipped: bool = False
    changed: bool = False
    diff: str | None = None
    notes: list[tuple[str, str]] = attrs.field(factory=list)


class RunSummary(NamedTuple):
    files: int
    findings: int
    files_with_findings: int
    safe_fixable: int
    unsafe_fixable: int
    fixed: int
    errors: int
    host_rules_skipped: int


def summarize(results: Sequence[FileResult], host_rules_skipped: int) -> RunSummary:
    linted = [r for r in results if not r.skipped and r.error is None]
    findings = [f for r in linted for f in r.findings]
    return RunSummary(
        files=len(linted),
        findings=len(findings),
        files_with_findings=sum(1 for r in linted if r.findings),
        safe_fixable=sum(1 for f in findings if f.fix is not None and f.fix.is_safe),
        unsafe_fixable=sum(1 for f in findings if f.fix is not None and not f.fix.is_safe),
        fixed=sum(len(r.applied) for r in results),
        errors=sum(1 for r in results if r.error is not None),
        host_rules_skipped=host_rules_skipped,
    )


def format_finding_text(path: str, finding: Finding) -> str:
    marker = " [*]" if finding.fix is not None and finding.fix.is_safe else ""
    return (
        f"{path}:{finding.line}:{finding.column}: {finding.code}{marker} "
        f"{finding.message} ({finding.name})"
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(
    summary: RunSummary, *, fixing: bool, unsafe: bool, dry_run: bool = False
) -> str:
    """``12 findings in 3 files (5 fixable with --fix, 2 more with --unsafe-fixes; ...)``."""
    if summary.findings == 0:
        head = f"No findings left in {_plural(summary.files, 'file')}" if summary.fixed else (
            f"No findings in {_plural(summary.files, 'file')}"
        )
    else:
        head = (
            f"{_plural(summary.findings, 'finding')} in "
            f"{_plural(summary.files_with_findings, 'file')}"
        )
    notes = []
    if summary.fixed:
        notes.append(f"{summary.fixed} {'would be fixed' if dry_run else 'fixed'}")
    fixable = []
    if summary.safe_fixable and not fixing:
        fixable.append(f"{summary.safe_fixable} fixable with --fix")
    if summary.unsafe_fixable and not unsafe:
        more = "more " if fixable else ""
        fixable.append(f"{summary.unsafe_fixable} {more}with --unsafe-fixes")
    if fixable:
        notes.append(", ".join(fixable))
    if summary.host_rules_skipped:
        notes.append(
            f"{_plural(summary.host_rules_skipped, 'host-aware rule')} skipped: no --host"
        )
    if summary.errors:
        notes.append(f"{_plural(summary.errors, 'file')} could not be checked")
    return head + (f" ({'; '.join(notes)})" if notes else "") + "."


def finding_to_json(path: str, finding: Finding) -> dict:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability.value,
            "message": finding.fix.title,
            "edits": [
                {"start": e.start, "end": e.end, "content": e.content} for e in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "message": finding.message,
        "filename": path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "path": finding.path,
        "fix": fix,
    }


def format_json(results: Sequence[FileResult]) -> str:
    records = [finding_to_json(r.path, f) for r in results for f in r.findings]
    return json.dumps(records, indent=2, ensure_ascii=False)
