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


def junit_tree(run: Run) -> etree._Element:
    rules = rules_by_code(run)
    suites = etree.Element("testsuites", name="domxml-lint")
    suite = etree.SubElement(suites, "testsuite", name="domxml-lint")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in run.results:
        counts["tests"] += 1
        case = etree.SubElement(
            suite, "testcase", classname="domxml-lint", name=result.path, file=result.path
        )
        if result.error is not None:
            counts["errors"] += 1
            error = etree.SubElement(case, "error", message=str(result.error), type="input-error")
            error.text = str(result.error)
            continue
        if result.skipped:
            counts["skipped"] += 1
            reason = result.skip_reason or "not a domain definition"
            etree.SubElement(case, "skipped", message=reason)
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
            failure = etree.SubElement(
                case,
                "failure",
                message=f"{finding.code} {finding.name}: {finding.message}",
                type=f"{finding.severity}",
            )
            failure.text = text + (f"\nsee {url}" if url else "")
        if len(failing):
            counts["failures"] += 1
        if advice:
            etree.SubElement(case, "system-out").text = "\n".join(advice)
    for element in (suites, suite):
        for key, value in counts.items():
            element.set(key, str(value))
    return suites


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    tree = junit_tree(run)
    etree.indent(tree, space="  ")
    text = etree.tostring(tree, encoding="unicode")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
