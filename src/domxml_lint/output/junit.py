"""JUnit XML: one test case per file, one ``<failure>`` per finding.

Findings below the file's ``fail-on`` severity do not fail the test case (the
exit code ignores them too); they are listed in its ``<system-out>``. A file
that could not be checked is an ``<error>``; non-domain XML is ``<skipped>``.
"""

from __future__ import annotations

from typing import TextIO

from lxml import etree

from ..report import Run, documentation_url
from . import OutputOptions, rules_by_code
from ._safe import xml_text


def junit_tree(run: Run) -> etree._Element:
    rules = rules_by_code(run)
    suites = etree.Element("testsuites", name="domxml-lint")
    suite = _child(suites, "testsuite", name="domxml-lint")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in run.results:
        counts["tests"] += 1
        # A live libvirt domain is no file: its test case has a name but no file attribute.
        file_attribute = {} if result.kind in ("domain", "connection") else {"file": result.path}
        case = _child(
            suite, "testcase", classname="domxml-lint", name=result.path, **file_attribute
        )
        if result.error is not None:
            counts["errors"] += 1
            problem = str(result.error)
            kind = "fix-not-written" if result.fix_not_written else "input-error"
            _child(case, "error", problem, message=problem, type=kind)
            if not result.linted:
                continue
        if result.skipped:
            counts["skipped"] += 1
            _child(case, "skipped", message=result.skip_reason or "not a domain definition")
            continue
        failing = {id(f) for f in result.failing}
        advice = []
        for finding in result.findings:
            where = f"{result.path}:{finding.line}:{finding.column}"
            text = f"{where}: {finding.code} {finding.message}"
            url = documentation_url(rules[finding.code]) if finding.code in rules else None
            if id(finding) not in failing:
                advice.append(f"{text} ({finding.name}, {finding.severity})")
                continue
            _child(
                case,
                "failure",
                text + (f"\nsee {url}" if url else ""),
                message=f"{finding.code} {finding.name}: {finding.message}",
                type=f"{finding.severity}",
            )
        if len(failing):
            counts["failures"] += 1
        if advice:
            _child(case, "system-out", "\n".join(advice))
    for element in (suites, suite):
        for key, value in counts.items():
            element.set(key, str(value))
    return suites


def _child(parent: etree._Element, tag: str, text: str | None = None, **attributes: str):
    """A child element; every string made XML-safe (file names may hold control characters)."""
    child = etree.SubElement(parent, tag, {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        child.text = xml_text(text)
    return child


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    tree = junit_tree(run)
    etree.indent(tree, space="  ")
    text = etree.tostring(tree, encoding="unicode")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
