"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Paths are repository-relative (``uriBaseId`` ``%SRCROOT%``, resolved through
``originalUriBaseIds``); files outside the root get absolute ``file://`` URIs.
Regions are 1-based with an exclusive end column, counted in Unicode code
points (``columnKind``). Fixes are byte replacements in the linted file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from .. import __version__
from ..errors import InputError
from ..findings import Finding, Related, Severity
from ..references import rule_references
from ..report import FileResult, Run, documentation_url
from ..rule import Rule
from . import OutputOptions, relative_path
from ._safe import json_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"
INFORMATION_URI = "https://github.com/domxml-lint/domxml-lint"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FAMILY = {
    "DX0": "engine",
    "DX1": "cpu",
    "DX2": "numa",
    "DX3": "memory",
    "DX4": "disk",
    "DX5": "network",
    "DX6": "devices",
    "DX7": "hyperv",
    "DX8": "migration",
}


def artifact_location(path: str, root: str) -> dict:
    if path == "-":
        return {"uri": "stdin"}
    relative = relative_path(path, root)
    if relative is None:
        return {"uri": Path(path).resolve().as_uri()}
    return {"uri": quote(os.fsencode(relative)), "uriBaseId": ROOT_ID}  # the bytes


def rule_descriptor(rule: Rule) -> dict:
    from ..docs import plain_text, render_rule_page

    what = rule.section("What it does") or rule.summary
    descriptor: dict = {
        "id": rule.code,
        "name": _pascal(rule.name),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": plain_text(what)},
        "help": {"text": plain_text(rule.doc or rule.summary), "markdown": render_rule_page(rule)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            # GitHub code scanning sorts alerts by precision; checks here are exact.
            "precision": "very-high",
            "tags": sorted({"libvirt", FAMILY.get(rule.code[:3], rule.origin)}),
            "kebabName": rule.name,
            "fix": rule.fix.value if rule.fix is not None else "none",
            "defaultEnabled": rule.default,
            "needsHost": rule.needs_host,
            # The guide sections and libvirt documentation the rule's page cites.
            "references": [r._asdict() for r in rule_references(rule)],
        },
    }
    url = documentation_url(rule)
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _pascal(name: str) -> str:
    # SARIF suggests an identifier-like name; the kebab name stays in properties.
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def document_location(result: FileResult, finding: Finding, root: str) -> dict:
    """Where a finding is: a region of a file, or, for a live libvirt domain (which is no
    file in any repository), the domain as a logical location with the line and column
    of its ``virsh dumpxml --inactive`` text."""
    element = {"fullyQualifiedName": finding.path, "kind": "element"}
    if result.kind in ("domain", "connection"):
        return {
            "logicalLocations": [domain_location(result.path), element],
            "properties": {"line": finding.line, "column": finding.column},
        }
    return {
        "physicalLocation": {
            "artifactLocation": artifact_location(result.path, root),
            "region": {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endLine": finding.end_line,
                "endColumn": finding.end_column,
            },
        },
        "logicalLocations": [element],
    }


def related_location(number: int, related: Related, root: str) -> dict:
    """A plan finding's other place (another guest's file and line), for ``relatedLocations``;
    a live domain or host is a logical location, as in :func:`document_location`."""
    item: dict = {"id": number, "message": {"text": related.message}}
    if os.path.isfile(related.path) or related.path == "-":
        item["physicalLocation"] = {
            "artifactLocation": artifact_location(related.path, root),
            "region": {"startLine": related.line, "startColumn": related.column},
        }
    else:
        item["logicalLocations"] = [domain_location(related.path)]
        item["properties"] = {"line": related.line, "column": related.column}
    return item


def domain_location(shown: str) -> dict:
    """A live libvirt domain, ``URI/domain/NAME``, as a SARIF logical location."""
    name = shown.rpartition("/domain/")[2] or shown
    return {"name": name, "fullyQualifiedName": shown, "kind": "resource"}


def result_object(result: FileResult, finding: Finding, index: dict[str, int], root: str) -> dict:
    item: dict = {
        "ruleId": finding.code,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [document_location(result, finding, root)],
    }
    if finding.related:
        item["relatedLocations"] = [
            related_location(number, related, root)
            for number, related in enumerate(finding.related, 1)
        ]
    if finding.code in index:
        item["ruleIndex"] = index[finding.code]
    # A live domain is no artifact to replace bytes in; --fix redefines it instead.
    if finding.fix is not None and finding.fix.edits and result.kind != "domain":
        safety = "safe" if finding.fix.is_safe else "unsafe: review it"
        item["fixes"] = [
            {
                "description": {"text": f"{finding.fix.title} ({safety})"},
                "artifactChanges": [
                    {
                        "artifactLocation": artifact_location(result.path, root),
                        "replacements": [
                            {
                                "deletedRegion": {
                                    "byteOffset": edit.start,
                                    "byteLength": edit.end - edit.start,
                                },
                                "insertedContent": {"text": edit.content},
                            }
                            for edit in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return item


def notification(result: FileResult, error: InputError, root: str) -> dict:
    item: dict = {
        "level": "error",
        "message": {"text": str(error)},
        "descriptor": {"id": "fix-not-written" if result.fix_not_written else "file-not-checked"},
    }
    if result.kind == "domain":
        item["locations"] = [{"logicalLocations": [domain_location(result.path)]}]
        return item
    physical: dict = {"artifactLocation": artifact_location(result.path, root)}
    if error.line is not None and error.line >= 1:
        region: dict = {"startLine": error.line}
        if error.column is not None and error.column >= 1:
            region["startColumn"] = error.column
        physical["region"] = region
    item["locations"] = [{"physicalLocation": physical}]
    return item


def sarif_log(run: Run, root: str) -> dict:
    rules = sorted(run.rules, key=lambda r: r.code)
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = [
        result_object(result, finding, index, root)
        for result in run.results
        for finding in result.findings
    ]
    notifications = [
        notification(result, result.error, root)
        for result in run.results
        if result.error is not None
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "domxml-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "originalUriBaseIds": {ROOT_ID: {"uri": Path(root).as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    log = sarif_log(run, options.root or os.getcwd())
    stream.write(json_text(log) + "\n")
