"""The results of a run, as every output format sees them, and the summary line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import attrs

from .errors import InputError
from .findings import Finding, Severity
from .rule import Rule


@attrs.define
class FileResult:
    """What happened to one input file.

    ``findings`` are those left (after fixing, with ``--fix``); ``applied`` the
    findings whose fixes were applied. ``output`` holds the fixed bytes of a
    document read from stdin, which go to stdout instead of a file.
    """

    path: str
    findings: list[Finding] = attrs.field(factory=list)
    applied: list[Finding] = attrs.field(factory=list)
    error: InputError | None = None
    skipped: bool = False
    skip_reason: str = ""
    changed: bool = False
    diff: str | None = None
    notes: list[tuple[str, str]] = attrs.field(factory=list)
    unsafe: bool = False
    fail_on: Severity = Severity.INFO
    host_skipped: tuple[str, ...] = ()
    output: bytes | None = attrs.field(default=None, repr=False)

    @property
    def linted(self) -> bool:
        return not self.skipped and self.error is None

    def fixable(self, finding: Finding) -> bool:
        """Whether ``--fix`` would fix ``finding`` with this file's settings."""
        return finding.fix is not None and (finding.fix.is_safe or self.unsafe)

    @property
    def failing(self) -> list[Finding]:
        """Findings at or above the file's ``fail-on`` severity."""
        return [f for f in self.findings if f.severity.rank >= self.fail_on.rank]


class Run(NamedTuple):
    """A whole run: per-file results in input order, and the rules that could fire."""

    results: tuple[FileResult, ...]
    rules: tuple[Rule, ...] = ()
    fixing: bool = False
    dry_run: bool = False


class RunSummary(NamedTuple):
    files: int
    findings: int
    files_with_findings: int
    safe_fixable: int
    unsafe_fixable: int
    fixed: int
    errors: int
    host_rules_skipped: int


def summarize(results: Sequence[FileResult], host_rules_skipped: int | None = None) -> RunSummary:
    """Counts for the summary line.

    ``safe_fixable`` counts findings ``--fix`` would fix with each file's
    settings; ``unsafe_fixable`` those needing ``--unsafe-fixes`` on top.
    Host-aware rules skipped are counted once each, however many files skipped them.
    """
    linted = [r for r in results if r.linted]
    if host_rules_skipped is None:
        host_rules_skipped = len({code for r in linted for code in r.host_skipped})
    return RunSummary(
        files=len(linted),
        findings=sum(len(r.findings) for r in linted),
        files_with_findings=sum(1 for r in linted if r.findings),
        safe_fixable=sum(1 for r in linted for f in r.findings if r.fixable(f)),
        unsafe_fixable=sum(
            1 for r in linted for f in r.findings if f.fix is not None and not r.fixable(f)
        ),
        fixed=sum(len(r.applied) for r in results),
        errors=sum(1 for r in results if r.error is not None),
        host_rules_skipped=host_rules_skipped,
    )


def fix_marker(result: FileResult, finding: Finding) -> str:
    return " [*]" if result.fixable(finding) else ""


def format_finding_text(path: str, finding: Finding, *, marker: str | None = None) -> str:
    """``path:line:col: CODE [*] message (name)``; ``[*]``: ``--fix`` fixes it."""
    if marker is None:
        marker = " [*]" if finding.fix is not None and finding.fix.is_safe else ""
    return (
        f"{path}:{finding.line}:{finding.column}: {finding.code}{marker} "
        f"{finding.message} ({finding.name})"
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(summary: RunSummary, *, fixing: bool, dry_run: bool = False) -> str:
    """``12 findings in 3 files (5 fixable with --fix, 2 more with --unsafe-fixes; ...)``."""
    if summary.findings == 0:
        head = (
            f"No findings left in {plural(summary.files, 'file')}"
            if summary.fixed
            else (f"No findings in {plural(summary.files, 'file')}")
        )
    else:
        head = (
            f"{plural(summary.findings, 'finding')} in "
            f"{plural(summary.files_with_findings, 'file')}"
        )
    notes = []
    if summary.fixed:
        notes.append(f"{summary.fixed} {'would be fixed' if dry_run else 'fixed'}")
    fixable = []
    if summary.safe_fixable and not fixing:
        fixable.append(f"{summary.safe_fixable} fixable with --fix")
    if summary.unsafe_fixable:
        more = "more " if fixable else ""
        fixable.append(f"{summary.unsafe_fixable} {more}with --unsafe-fixes")
    if fixable:
        notes.append(", ".join(fixable))
    if summary.host_rules_skipped:
        notes.append(f"{plural(summary.host_rules_skipped, 'host-aware rule')} skipped: no --host")
    if summary.errors:
        notes.append(f"{plural(summary.errors, 'file')} could not be checked")
    return head + (f" ({'; '.join(notes)})" if notes else "") + "."


def documentation_url(rule: Rule) -> str | None:
    """The rule's page in rules/ for built-in rules; None for plugins, documented elsewhere."""
    return rule.url if rule.origin == "domxml_lint" else None
