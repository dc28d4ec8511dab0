"""Inline suppression comments.

``<!-- domxml-lint: disable=DX401,disk-cache-unsafe -->`` right before an
element suppresses those rules for that element and its subtree.
``<!-- domxml-lint: disable-file=DX401 -->`` anywhere suppresses them for the file.
Codes and rule names are accepted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from .document import Document
from .findings import Finding
from .ruleset import RuleSet

MARKER = b"domxml-lint"
# Group 2 is stripped by the caller: "(.*?)\s*$" was quadratic in a comment's trailing spaces.
_DIRECTIVE = re.compile(r"^\s*domxml-lint\s*:\s*(disable-file|disable)\s*=(.*)$", re.S)
_ANY_DIRECTIVE = re.compile(r"^\s*domxml-lint\s*:", re.S)


class Suppression(NamedTuple):
    """One suppression comment: its byte span, scope and the rules it names."""

    start: int
    end: int
    file_wide: bool
    selectors: tuple[str, ...]
    target: int | None  # index into Document.elements; None for file-wide or dangling
    malformed: bool = False


class UnusedSelector(NamedTuple):
    suppression: Suppression
    selector: str
    reason: str


def find_suppressions(doc: Document) -> list[Suppression]:
    """Every ``domxml-lint:`` comment in the document, with the element it applies to."""
    if MARKER not in doc.data:
        return []
    import xml.parsers.expat  # only documents that mention domxml-lint

    data = doc.data
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[dict] = []
    pending: list[dict] = []
    state = {"depth": 0, "index": 0}

    def on_comment(text: str) -> None:
        if not _ANY_DIRECTIVE.match(text):
            return
        start = parser.CurrentByteIndex
        end = data.index(b"-->", start) + 3
        match = _DIRECTIVE.match(text)
        entry = {
            "start": start,
            "end": end,
            "file_wide": bool(match and match.group(1) == "disable-file"),
            "selectors": tuple(s.strip() for s in match.group(2).split(",") if s.strip())
            if match
            else (),
            "target": None,
            "malformed": match is None,
            "depth": state["depth"],
        }
        found.append(entry)
        if match and not entry["file_wide"]:
            pending.append(entry)

    def on_start(_name: str, _attrs: object) -> None:
        for entry in [e for e in pending if e["depth"] == state["depth"]]:
            entry["target"] = state["index"]
            pending.remove(entry)
        state["index"] += 1
        state["depth"] += 1

    def on_end(_name: str) -> None:
        state["depth"] -= 1
        for entry in [e for e in pending if e["depth"] > state["depth"]]:
            pending.remove(entry)  # no element followed inside the same parent

    parser.CommentHandler = on_comment
    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.Parse(data, True)
    return [
        Suppression(
            start=e["start"],
            end=e["end"],
            file_wide=e["file_wide"],
            selectors=e["selectors"],
            target=e["target"],
            malformed=e["malformed"],
        )
        for e in found
    ]


def apply_suppressions(
    doc: Document,
    findings: Sequence[Finding],
    suppressions: Sequence[Suppression],
    ruleset: RuleSet,
    active_codes: set[str],
) -> tuple[list[Finding], list[UnusedSelector]]:
    """Drop suppressed findings; return what is kept and the selectors that did nothing.

    A selector for a rule that did not run (not selected, or needing a host
    that was not given) is not reported as unused: it could not be judged.
    """
    suppressed: set[int] = set()
    unused: list[UnusedSelector] = []
    # (code, element path or one of its ancestors' paths) -> findings, so that matching
    # stays linear when a file holds thousands of suppressions and findings.
    by_scope: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for position, finding in enumerate(findings):
        by_scope[(finding.code, None)].append(position)
        by_scope[(finding.code, finding.path)].append(position)
        cut = finding.path.rfind("/")
        while cut > 0:
            by_scope[(finding.code, finding.path[:cut])].append(position)
            cut = finding.path.rfind("/", 0, cut)
    for item in suppressions:
        if item.malformed:
            unused.append(
                UnusedSelector(
                    item,
                    "",
                    "cannot read this suppression comment; write "
                    "`domxml-lint: disable=CODE,...` or `disable-file=CODE,...`",
                )
            )
            continue
        scope = None
        if not item.file_wide:
            if item.target is None:
                for selector in item.selectors:
                    unused.append(UnusedSelector(item, selector, "no element follows the comment"))
                continue
            scope = doc.xpath_of(doc.elements[item.target])
        for selector in item.selectors:
            matched = ruleset.get(selector)
            if matched is None:
                unused.append(UnusedSelector(item, selector, "unknown rule"))
                continue
            matches = by_scope.get((matched.code, scope), ())
            suppressed.update(matches)
            if not matches and matched.code in active_codes:
                unused.append(UnusedSelector(item, selector, "suppresses nothing here"))
    kept = [f for i, f in enumerate(findings) if i not in suppressed]
    return kept, unused
