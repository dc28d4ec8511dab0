"""``concise`` (also ``text``): ``path:line:col: CODE [*] message (name)`` and a summary line."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from ..findings import Finding, Severity
from ..report import (
    FileResult,
    Run,
    fix_marker,
    format_finding_text,
    printable,
    summarize,
    summary_line,
)
from . import OutputOptions

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
SEVERITY_COLOUR = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.INFO: "\x1b[1;34m",
}
FIXABLE = "\x1b[36m"


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    if options.statistics:
        write_statistics(run, stream, options)
    else:
        for result in run.results:
            if result.diff:
                stream.write(result.diff)
            for finding in result.findings:
                stream.write(finding_line(result, finding, options.colour) + "\n")
                stream.write(related_lines(finding))
                if options.show_fixes and finding.fix is not None and not run.fixing:
                    needs = "" if result.fixable(finding) else ", needs --unsafe-fixes"
                    stream.write(
                        f"    fix ({finding.fix.applicability}{needs}): "
                        f"{printable(finding.fix.title)}\n"
                    )
        if options.show_fixes and run.fixing:
            write_fixed(run, stream)
    write_summary(run, stream, options)


def write_summary(run: Run, stream: TextIO, options: OutputOptions) -> None:
    if options.quiet:
        return
    summary = summarize(run.results)
    if summary.files or summary.errors:
        line = summary_line(summary, fixing=run.fixing, dry_run=run.dry_run)
        stream.write((BOLD + line + RESET if options.colour else line) + "\n")


def finding_line(result: FileResult, finding: Finding, colour: bool) -> str:
    marker = fix_marker(result, finding)
    if not colour:
        return format_finding_text(result.path, finding, marker=marker)
    code = SEVERITY_COLOUR[finding.severity] + finding.code + RESET
    marker = f" {FIXABLE}[*]{RESET}" if marker else ""
    return (
        f"{BOLD}{printable(result.path)}{RESET}:{finding.line}:{finding.column}: {code}{marker} "
        f"{printable(finding.message)} ({printable(finding.name)})"
    )


def related_lines(finding: Finding) -> str:
    """The finding's other places, one indented line each: ``    see also: path:line:col: ...``."""
    return "".join(
        printable(f"    see also: {r.path}:{r.line}:{r.column}: {r.message}") + "\n"
        for r in finding.related
    )


def write_fixed(run: Run, stream: TextIO) -> None:
    """ruff's ``--show-fixes`` list: what was (or, with --diff, would be) fixed, per file."""
    fixed = [r for r in run.results if r.applied]
    total = sum(len(r.applied) for r in fixed)
    if not total:
        return
    verb = "Would fix" if run.dry_run else "Fixed"
    stream.write(f"{verb} {total} finding{'' if total == 1 else 's'}:\n")
    for result in fixed:
        stream.write(f"- {printable(result.path)}:\n")
        counts = Counter((f.code, f.name) for f in result.applied)
        for (code, name), count in sorted(counts.items()):
            stream.write(f"    {count} x {code} ({name})\n")


def statistics(run: Run) -> list[dict]:
    """Remaining findings per rule, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    fixable: set[str] = set()
    for result in run.results:
        for finding in result.findings:
            counts[(finding.code, finding.name)] += 1
            if result.fixable(finding):
                fixable.add(finding.code)
    return [
        {"code": code, "name": name, "count": count, "fixable": code in fixable}
        for (code, name), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def write_statistics(run: Run, stream: TextIO, options: OutputOptions) -> None:
    rows = statistics(run)
    if not rows:
        return
    width = max(len(str(r["count"])) for r in rows)
    code_width = max(len(r["code"]) for r in rows)
    for row in rows:
        marker = "[*]" if row["fixable"] else "   "
        stream.write(
            f"{row['count']:>{width}}  {row['code']:<{code_width}}  {marker} {row['name']}\n"
        )
