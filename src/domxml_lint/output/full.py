"""``full``: each finding's line, then the source around it with a caret under the finding.

::

    vms/web.xml:13:38: DX404 [*] disk 'vda': io='native' with no cache mode: ... (name)
       |
    12 |     <disk type='file' device='disk'>
    13 |       <driver name='qemu' type='raw' io='native'/>
       |                                      ^^^^^^^^^^^ DX404
    14 |       <source file='/var/lib/libvirt/images/web-01.qcow2'/>
       |
       = fix (safe): Set cache='none'

The rest (diffs, --show-fixes, the summary line) is as in ``concise``.
"""

from __future__ import annotations

from typing import TextIO

from ..findings import Finding
from ..report import FileResult, Run, printable
from . import OutputOptions
from . import text as concise

#: Lines shown before and after the finding's first line.
CONTEXT = 1
TAB = 4


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    if options.statistics:
        concise.write(run, stream, options)
        return
    for result in run.results:
        if result.diff:
            stream.write(result.diff)
        lines = _lines(result)
        for finding in result.findings:
            stream.write(concise.finding_line(result, finding, options.colour) + "\n")
            stream.write(concise.related_lines(finding))
            fix = ""
            if finding.fix is not None and not run.fixing:
                needs = "" if result.fixable(finding) else ", needs --unsafe-fixes"
                fix = f"fix ({finding.fix.applicability}{needs}): {printable(finding.fix.title)}"
            stream.write(snippet(lines, finding, colour=options.colour, note=fix))
            stream.write("\n")
    if options.show_fixes and run.fixing:
        concise.write_fixed(run, stream)
    concise.write_summary(run, stream, options)


def _lines(result: FileResult) -> list[str]:
    if result.source is None:
        return []
    return [
        line.removesuffix("\r")
        for line in result.source.decode(result.encoding, "replace").split("\n")
    ]


def snippet(lines: list[str], finding: Finding, *, colour: bool = False, note: str = "") -> str:
    """The finding's line with CONTEXT lines around it and a caret line under it, then
    ``= note`` under the gutter."""
    if not 1 <= finding.line <= len(lines):
        return f"  = {note}\n" if note else ""
    first = max(1, finding.line - CONTEXT)
    last = min(len(lines), finding.line + CONTEXT)
    width = len(str(last))
    gutter = " " * width + " |"
    out = [gutter + "\n"]
    for number in range(first, last + 1):
        shown = _shown(lines[number - 1])
        out.append(f"{number:>{width}} |{' ' + shown if shown else ''}\n")
        if number == finding.line:
            out.append(f"{gutter} {_carets(lines[number - 1], finding, colour)}\n")
    out.append(gutter + "\n")
    if note:
        out.append(f"{' ' * (width + 1)}= {note}\n")
    return "".join(out)


def _shown(line: str) -> str:
    # Escaped like every other line of output, so a value in the file cannot forge one.
    return printable(line).expandtabs(TAB)


def _carets(line: str, finding: Finding, colour: bool) -> str:
    start = len(_shown(line[: finding.column - 1]))
    end_column = finding.end_column if finding.end_line == finding.line else len(line) + 1
    end = len(_shown(line[: max(end_column, finding.column) - 1]))
    marks = "^" * max(1, end - start)
    if colour:
        from .text import RESET, SEVERITY_COLOUR

        marks = SEVERITY_COLOUR[finding.severity] + marks + " " + finding.code + RESET
    else:
        marks += " " + finding.code
    return " " * start + marks
