"""reviewdog's Diagnostic Format as one JSON document (``reviewdog -f=rdjson``).

Positions follow the format: lines from 1, columns from 1 counted in bytes of
UTF-8, ranges ending before ``end``. Each fix becomes ``suggestions`` (one per
edit, for review; unsafe fixes too, as a suggestion is applied by a person).
"""

from __future__ import annotations

import bisect
import os
from typing import TextIO

from ..findings import Finding, Severity
from ..report import FileResult, Run, documentation_url
from . import OutputOptions, display_path, relative_path, rules_by_code
from ._safe import json_text

SEVERITY = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}
SOURCE = {"name": "domxml-lint", "url": "https://github.com/domxml-lint/domxml-lint"}


class _Positions:
    """Line and UTF-8 byte column of offsets and character columns in one document."""

    def __init__(self, result: FileResult) -> None:
        self.encoding = result.encoding
        self.data = result.source or b""
        self.starts = [0]
        index = self.data.find(b"\n")
        while index != -1:
            self.starts.append(index + 1)
            index = self.data.find(b"\n", index + 1)

    def _line(self, number: int) -> str:
        if not 1 <= number <= len(self.starts):
            return ""
        end = self.starts[number] if number < len(self.starts) else len(self.data)
        return self.data[self.starts[number - 1] : end].decode(self.encoding, "replace")

    def column(self, line: int, column: int) -> int:
        """A 1-based character column as a 1-based UTF-8 byte column."""
        return len(self._line(line)[: column - 1].encode("utf-8", "surrogatepass")) + 1

    def at(self, offset: int) -> dict:
        """A byte offset into the document (its own encoding) as a position."""
        line = bisect.bisect_right(self.starts, offset)
        prefix = self.data[self.starts[line - 1] : offset].decode(self.encoding, "replace")
        return {"line": line, "column": len(prefix.encode("utf-8", "surrogatepass")) + 1}


def diagnostic(
    result: FileResult,
    finding: Finding,
    path: str,
    url: str | None,
    positions: _Positions,
    root: str | None = None,
) -> dict:
    code: dict = {"value": finding.code}
    if url:
        code["url"] = url
    item: dict = {
        "message": f"{finding.message} ({finding.name})",
        "location": {
            "path": path,
            "range": {
                "start": {
                    "line": finding.line,
                    "column": positions.column(finding.line, finding.column),
                },
                "end": {
                    "line": finding.end_line,
                    "column": positions.column(finding.end_line, finding.end_column),
                },
            },
        },
        "severity": SEVERITY[finding.severity],
        "code": code,
    }
    if finding.related:  # a plan rule's other places; their columns are not converted: lines
        item["related_locations"] = [
            {
                "message": r.message,
                "location": {
                    "path": relative_path(r.path, root or os.getcwd()) or r.path,
                    "range": {"start": {"line": r.line}},
                },
            }
            for r in finding.related
        ]
    if finding.fix is not None and result.source is not None and result.kind != "domain":
        item["suggestions"] = [
            {
                "range": {"start": positions.at(e.start), "end": positions.at(e.end)},
                "text": e.content,
            }
            for e in finding.fix.edits
        ]
    return item


def document(run: Run, root: str) -> dict:
    urls = {code: documentation_url(rule) for code, rule in rules_by_code(run).items()}
    diagnostics = []
    for result in run.results:
        path = display_path(result, root)
        positions = _Positions(result)  # one line index per document
        diagnostics += [
            diagnostic(result, finding, path, urls.get(finding.code), positions, root)
            for finding in result.findings
        ]
        if result.error is not None:
            check = "fix-not-written" if result.fix_not_written else "file-not-checked"
            item: dict = {
                "message": str(result.error),
                "location": {"path": path},
                "severity": "ERROR",
                "code": {"value": f"domxml-lint/{check}"},
            }
            if result.error.line:
                item["location"]["range"] = {"start": {"line": result.error.line}}
            diagnostics.append(item)
    return {"source": SOURCE, "diagnostics": diagnostics}


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    stream.write(json_text(document(run, options.root or os.getcwd())) + "\n")
