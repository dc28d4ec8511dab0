"""Inline suppression comments.

``<!-- domxml-lint: disable=DX401,disk-cache-unsafe (scratch disk) -->`` on its
own line suppresses those rules for the next element and its subtree; after a
tag on the same line it covers the element of that tag instead.
``<!-- domxml-lint: disable-file=DX401 -->`` anywhere suppresses them for the file.
Codes and rule names are accepted, separated by commas; whatever follows the
list is the reason, best written in parentheses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from ._records import NamedTuple
from .document import Document
from .findings import Finding
from .ruleset import RuleSet, suggest

MARKER = b"domxml-lint"
_SPACE = "[ \t\r\n]*"
_DIRECTIVE = re.compile(rf"{_SPACE}domxml-lint{_SPACE}:{_SPACE}(disable-file|disable){_SPACE}=")
_ANY_DIRECTIVE = re.compile(rf"{_SPACE}domxml-lint{_SPACE}:")
_SELECTOR = re.compile(rf"{_SPACE}([A-Za-z0-9_.-]+)")
_COMMA = re.compile(rf"{_SPACE},")
_COMMENT_OPEN = len("<!--")


class Suppression(NamedTuple):
    """One suppression comment: its byte span, scope, the rules it names and why."""

    start: int
    end: int
    file_wide: bool
    selectors: tuple[str, ...]
    target: int | None  # index into Document.elements; None for file-wide or dangling
    malformed: bool = False
    reason: str = ""  # the text after the rule list, as written
    # Byte span of the rule list, so that a fix rewrites only the list (0, 0 if unknown).
    selectors_start: int = 0
    selectors_end: int = 0


class UnusedSelector(NamedTuple):
    suppression: Suppression
    selector: str
    reason: str
    removable: bool = True  # False when deleting it would lose what the user meant


class _Directive(NamedTuple):
    file_wide: bool
    selectors: tuple[str, ...]
    reason: str
    list_start: int  # character offsets in the comment text
    list_end: int


def read_directive(text: str) -> _Directive | None:
    """Parse ``domxml-lint: disable=A, B (reason)``; None when it cannot be read."""
    head = _DIRECTIVE.match(text)
    if head is None:
        return None
    selectors: list[str] = []
    position = head.end()
    list_start = list_end = position
    while True:
        item = _SELECTOR.match(text, position)
        if item is None:
            break
        if not selectors:
            list_start = item.start(1)
        selectors.append(item.group(1))
        position = list_end = item.end()
        comma = _COMMA.match(text, position)
        if comma is None:
            break
        position = comma.end()
    if not selectors:
        return None
    return _Directive(
        file_wide=head.group(1) == "disable-file",
        selectors=tuple(selectors),
        reason=text[list_end:].strip(),
        list_start=list_start,
        list_end=list_end,
    )


def find_suppressions(doc: Document) -> list[Suppression]:
    """Every ``domxml-lint:`` comment in the document, with the element it applies to."""
    if MARKER not in doc.data:
        return []
    import xml.parsers.expat  # only documents that mention domxml-lint

    data = doc.data
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[Suppression] = []
    pending: list[tuple[int, int]] = []  # (index in found, depth) awaiting the next element
    open_elements: list[int] = []
    # The element of the last start or end tag, while nothing but a tag came since.
    last_tag: list[int | None] = [None]
    counter = {"index": 0}

    def trailing_target(start: int, tag_before: int | None) -> int | None:
        """The element whose tag ends on this comment's line, just before it."""
        if tag_before is None:
            return None
        between = data[data.rfind(b">", 0, start) + 1 : start]
        return tag_before if not between.strip(b" \t") else None

    def on_comment(text: str) -> None:
        tag_before, last_tag[0] = last_tag[0], None
        if not _ANY_DIRECTIVE.match(text):
            return
        start = parser.CurrentByteIndex
        end = data.index(b"-->", start) + 3
        directive = read_directive(text)
        if directive is None:
            found.append(Suppression(start, end, False, (), None, malformed=True))
            return
        target = None if directive.file_wide else trailing_target(start, tag_before)
        # Offsets come from the raw bytes: the parser has normalised line ends.
        raw = read_directive(data[start + _COMMENT_OPEN : end - 3].decode("latin-1"))
        offset = start + _COMMENT_OPEN
        span = (offset + raw.list_start, offset + raw.list_end) if raw else (0, 0)
        found.append(
            Suppression(
                start=start,
                end=end,
                file_wide=directive.file_wide,
                selectors=directive.selectors,
                target=target,
                reason=directive.reason,
                selectors_start=span[0],
                selectors_end=span[1],
            )
        )
        if target is None and not directive.file_wide:
            pending.append((len(found) - 1, len(open_elements)))

    def on_start(_name: str, _attrs: object) -> None:
        depth = len(open_elements)
        for entry in [p for p in pending if p[1] == depth]:
            found[entry[0]] = found[entry[0]]._replace(target=counter["index"])
            pending.remove(entry)
        open_elements.append(counter["index"])
        last_tag[0] = counter["index"]
        counter["index"] += 1

    def on_end(_name: str) -> None:
        last_tag[0] = open_elements.pop()
        depth = len(open_elements)
        for entry in [p for p in pending if p[1] > depth]:
            pending.remove(entry)  # no element followed inside the same parent

    def on_other(*_args: object) -> None:
        last_tag[0] = None

    parser.CommentHandler = on_comment
    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.ProcessingInstructionHandler = on_other
    parser.Parse(data, True)
    return found


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
                    "`domxml-lint: disable=CODE,... (reason)` or `disable-file=CODE,...`",
                    False,
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
                unused.append(UnusedSelector(item, selector, _unknown(selector, ruleset), False))
                continue
            matches = by_scope.get((matched.code, scope), ())
            suppressed.update(matches)
            if not matches and matched.code in active_codes:
                unused.append(UnusedSelector(item, selector, "suppresses nothing here"))
        swallowed = _rule_read_as_reason(item.reason, ruleset)
        if swallowed:
            unused.append(
                UnusedSelector(
                    item,
                    swallowed,
                    "read as the reason, not as a rule; separate rules with commas",
                    False,
                )
            )
    kept = [f for i, f in enumerate(findings) if i not in suppressed]
    return kept, unused


def _unknown(selector: str, ruleset: RuleSet) -> str:
    close = suggest(selector, [r.code for r in ruleset] + [r.name for r in ruleset])
    return f"unknown rule; did you mean `{close}`?" if close else "unknown rule"


def _rule_read_as_reason(reason: str, ruleset: RuleSet) -> str | None:
    """The first word of an unparenthesised reason when it names a rule."""
    words = reason.split(None, 1)
    if not words or reason.startswith("("):
        return None
    first = words[0].rstrip(",.;:")
    return first if ruleset.get(first) is not None else None
