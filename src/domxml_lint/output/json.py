"""JSON output: one record per finding (or per rule, with --statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..findings import Finding
from ..references import Reference, rule_references
from ..report import FileResult, Run, documentation_url
from . import OutputOptions, rules_by_code
from ._safe import json_text
from .text import statistics


def finding_record(
    result: FileResult,
    finding: Finding,
    url: str | None,
    references: Sequence[Reference] = (),
) -> dict:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability.value,
            "applies": result.fixable(finding),
            "message": finding.fix.title,
            # Byte offsets into the file as it was linted (the fixed file with --fix).
            "edits": [
                {"start": e.start, "end": e.end, "content": e.content} for e in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "message": finding.message,
        "filename": result.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "path": finding.path,
        "url": url,
        "references": [r._asdict() for r in references],
        "fix": fix,
        # Other places the finding points at (a plan rule's other guest).
        "related": [
            {"filename": r.path, "line": r.line, "column": r.column, "message": r.message}
            for r in finding.related
        ],
    }


def records(run: Run) -> list[dict]:
    rules = rules_by_code(run)
    urls = {code: documentation_url(rule) for code, rule in rules.items()}
    references = {code: rule_references(rule) for code, rule in rules.items()}
    return [
        finding_record(result, finding, urls.get(finding.code), references.get(finding.code, ()))
        for result in run.results
        for finding in result.findings
    ]


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    data = statistics(run) if options.statistics else records(run)
    stream.write(json_text(data) + "\n")
