"""The bundled examples: the guide-tuned guest is clean, the others show findings."""

from __future__ import annotations

from helpers import FIXTURES

import domxml_lint

EXAMPLES = FIXTURES / "examples"


def test_guide_tuned_guest_has_no_findings_by_default():
    findings = domxml_lint.lint(EXAMPLES / "guide-tuned.xml")
    assert not findings, [f"{f.code} {f.message}" for f in findings]


def test_web_example_shows_fixable_findings():
    findings = domxml_lint.lint(EXAMPLES / "web-01.xml")
    assert {"DX401", "DX404"} <= {f.code for f in findings}
