"""The results of a run, as every output format sees them, and the summary line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from ._records import NamedTuple
from .errors import FixNotWritten, InputError
from .findings import Finding, Severity, pickled_as_tuple
from .rule import Rule

if TYPE_CHECKING:
    from .guests import GuestFacts

#: Kinds of results about a host rather than a guest: a host snapshot file, or the host
#: of a live libvirt connection (plan rules' findings about the host itself).
HOST_KINDS = ("host", "connection")


@pickled_as_tuple
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
    fail_on: Severity = Severity.WARNING  # config.DEFAULT_FAIL_ON
    host_skipped: tuple[str, ...] = ()
    #: Rules skipped because the domain's type or arch is not theirs: (domains label, count).
    not_applicable: tuple[tuple[str, int], ...] = ()
    output: bytes | None = attrs.field(default=None, repr=False)
    #: What was checked: ``file`` (a file or stdin) or ``domain`` (a live libvirt domain).
    kind: str = "file"
    #: The text the findings point into, and its encoding, when a format shows lines.
    source: bytes | None = attrs.field(default=None, repr=False)
    encoding: str = "utf-8"
    #: What plan rules see of the document (only when some plan rule is selected).
    guest: GuestFacts | None = attrs.field(default=None, repr=False)

    @property
    def linted(self) -> bool:
        """Whether the document was checked (its fix may still have failed to be written)."""
        return not self.skipped and (self.error is None or self.fix_not_written)

    @property
    def fix_not_written(self) -> bool:
        """Checked, but the fixed document could not be written: its findings still stand."""
        return isinstance(self.error, FixNotWritten)

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
    #: How many of ``files`` (and of ``files_with_findings``) are live libvirt domains.
    domains: int = 0
    domains_with_findings: int = 0
    #: Of ``errors``: how many are live domains.
    domain_errors: int = 0
    #: Checked, but their fixes could not be written (of them, live domains).
    not_written: int = 0
    domains_not_written: int = 0
    #: Of ``files``: host snapshots (or live hosts) that plan rules found something in.
    hosts: int = 0


def summarize(results: Sequence[FileResult], host_rules_skipped: int | None = None) -> RunSummary:
    """Counts for the summary line.

    ``safe_fixable`` counts findings ``--fix`` would fix with each file's
    settings; ``unsafe_fixable`` those needing ``--unsafe-fixes`` on top.
    ``errors`` counts documents that could not be checked; ``not_written``
    those checked whose fixes could not be written.
    Host-aware rules skipped are counted once each, however many files skipped them.
    """
    files = findings = files_with_findings = safe = unsafe = fixed = errors = 0
    domains = domains_with_findings = domain_errors = not_written = domains_not_written = 0
    hosts = 0
    skipped_codes: set[str] = set()
    for result in results:  # one pass: the summary of a 10,000-file run is on the clock too
        fixed += len(result.applied)
        domain = result.kind == "domain"
        if result.error is not None:
            if result.fix_not_written:
                not_written += 1
                domains_not_written += domain
            else:
                errors += 1
                domain_errors += domain
        if not result.linted:
            continue
        files += 1
        domains += domain
        hosts += result.kind in HOST_KINDS
        skipped_codes.update(result.host_skipped)
        if not result.findings:
            continue
        files_with_findings += 1
        domains_with_findings += domain
        findings += len(result.findings)
        for finding in result.findings:
            if finding.fix is not None:
                if result.fixable(finding):
                    safe += 1
                else:
                    unsafe += 1
    return RunSummary(
        files=files,
        findings=findings,
        files_with_findings=files_with_findings,
        safe_fixable=safe,
        unsafe_fixable=unsafe,
        fixed=fixed,
        errors=errors,
        host_rules_skipped=len(skipped_codes) if host_rules_skipped is None else host_rules_skipped,
        domains=domains,
        domains_with_findings=domains_with_findings,
        domain_errors=domain_errors,
        not_written=not_written,
        domains_not_written=domains_not_written,
        hosts=hosts,
    )


def fix_marker(result: FileResult, finding: Finding) -> str:
    return " [*]" if result.fixable(finding) else ""


# Control characters (but tab), DEL and the C1 range, shown escaped: a value quoted from the
# XML (``dev='a&#10;::error::b'``, U+009B) or a file name must not start a new output line,
# a CI workflow command or a terminal escape sequence.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r"})


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), for line-based output."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def format_finding_text(path: str, finding: Finding, *, marker: str | None = None) -> str:
    """``path:line:col: CODE [*] message (name)``; ``[*]``: ``--fix`` fixes it."""
    if marker is None:
        marker = " [*]" if finding.fix is not None and finding.fix.is_safe else ""
    return printable(
        f"{path}:{finding.line}:{finding.column}: {finding.code}{marker} "
        f"{finding.message} ({finding.name})"
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(summary: RunSummary, *, fixing: bool, dry_run: bool = False) -> str:
    """One sentence: what was found in how many of the documents checked, then notes.

    ``3 findings in 1 of 3 files (1 fixable with --fix, 2 more with --unsafe-fixes).``
    With ``--fix``: ``1 finding left in 1 of 3 files (2 fixed; 1 fixable with
    --unsafe-fixes).``; with ``--diff`` the same in the conditional ("would be").
    Live libvirt domains are counted as domains, never as files.
    """
    checked = documents(summary.files, summary.domains, summary.hosts)
    left = ""
    if fixing and summary.fixed:
        left = " would be left" if dry_run else " left"
    if summary.findings == 0:
        head = f"No findings{left} in {checked}"
    else:
        where = checked
        if summary.files_with_findings < summary.files:
            where = f"{summary.files_with_findings} of {checked}"
        head = f"{plural(summary.findings, 'finding')}{left} in {where}"
    notes = []
    if summary.fixed:
        notes.append(f"{summary.fixed} {'would be fixed' if dry_run else 'fixed'}")
    if summary.not_written:
        where = documents(summary.not_written, summary.domains_not_written)
        notes.append(f"fixes to {where} could not be written")
    fixable = []
    if summary.safe_fixable:
        # After --fix, only fixes that conflicted past the last pass are left.
        fixable.append(
            f"{summary.safe_fixable} {'still fixable' if fixing else 'fixable'} with --fix"
        )
    if summary.unsafe_fixable:
        if fixable:
            fixable.append(f"{summary.unsafe_fixable} more with --unsafe-fixes")
        elif fixing:
            fixable.append(f"{summary.unsafe_fixable} fixable with --unsafe-fixes")
        else:
            fixable.append(f"{summary.unsafe_fixable} fixable with --fix --unsafe-fixes")
    if fixable:
        notes.append(", ".join(fixable))
    if summary.host_rules_skipped:
        notes.append(f"{plural(summary.host_rules_skipped, 'host-aware rule')} skipped: no --host")
    if summary.errors:
        notes.append(f"{documents(summary.errors, summary.domain_errors)} could not be checked")
    return head + (f" ({'; '.join(notes)})" if notes else "") + "."


def documents(total: int, domains: int, hosts: int = 0) -> str:
    """``3 files``, ``1 domain``, ``2 files and 1 domain`` (live libvirt domains are not files);
    ``2 files and 1 host`` when plan rules found something about a host itself."""
    files = total - domains - hosts
    parts = [plural(files, "file")] if files or not (domains or hosts) else []
    if domains:
        parts.append(plural(domains, "domain"))
    if hosts:
        parts.append(plural(hosts, "host"))
    return " and ".join(parts) if len(parts) < 3 else f"{parts[0]}, {parts[1]} and {parts[2]}"


def documentation_url(rule: Rule) -> str | None:
    """The rule's page: in rules/ for built-in rules; a plugin's own ``url=``, if it gave one."""
    if rule.help_url is not None:
        return rule.help_url
    return rule.url if rule.origin == "domxml_lint" else None
