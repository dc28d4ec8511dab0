"""Rules: metadata in one place, a check function, and the context it runs in.

A rule is a function decorated with :func:`rule`. Its docstring is its
documentation, in ruff's sections (What it does / Why is this bad? / Example /
Use instead / Fix safety / Source). The decorator returns a :class:`Rule`.

    @rule(code="DX401", name="disk-cache-unsafe", severity="error", fix="unsafe",
          summary="Disk cache mode 'unsafe' ignores guest flushes", triggers=("driver",))
    def disk_cache_unsafe(ctx):
        for disk in ctx.facts.disks:
            if disk.cache == "unsafe":
                yield ctx.finding(disk.driver, "...", attribute="cache", fix=...)
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from lxml import etree

from .edits import Editor
from .findings import Applicability, Edit, Finding, Fix, Severity

if TYPE_CHECKING:
    from .document import Document
    from .facts import DomainFacts

CODE_PATTERN = re.compile(r"^[A-Z]{1,8}[0-9]{1,4}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Source",
)
DOCS_URL = "https://github.com/domxml-lint/domxml-lint/blob/main/rules/{code}-{name}.md"

CheckFunction = Callable[["RuleContext"], Iterable[Finding]]


@attrs.frozen
class Rule:
    """A lint rule's metadata and its check function."""

    code: str
    name: str
    severity: Severity
    summary: str
    check: CheckFunction = attrs.field(eq=False, repr=False)
    fix: Applicability | None = None
    default: bool = True
    needs_host: bool = False
    triggers: frozenset[str] | None = None
    #: The check function's docstring as written; :attr:`doc` is it dedented.
    docstring: str = attrs.field(default="", repr=False, alias="doc")
    options: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    #: Where a plugin documents the rule (http or https); built-ins use :data:`DOCS_URL`.
    help_url: str | None = attrs.field(default=None, repr=False)

    @functools.cached_property
    def doc(self) -> str:
        """The documentation (ruff's sections), dedented on first use: most runs never read it."""
        return inspect.cleandoc(self.docstring)

    @property
    def origin(self) -> str:
        """The top-level package that provides the rule (``domxml_lint`` for built-ins)."""
        return (getattr(self.check, "__module__", None) or "?").split(".")[0]

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code, name=self.name)

    def section(self, title: str) -> str:
        """One section of the documentation (empty if missing)."""
        pattern = rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)"
        match = re.search(pattern, self.doc, re.S | re.M)
        return match.group(1).strip() if match else ""


def rule(
    *,
    code: str,
    name: str,
    severity: str | Severity,
    summary: str,
    fix: str | Applicability | None = None,
    default: bool = True,
    needs_host: bool = False,
    triggers: Iterable[str] | None = None,
    options: Mapping[str, Any] | None = None,
    url: str | None = None,
) -> Callable[[CheckFunction], Rule]:
    """Declare a rule. ``triggers``: element names of which at least one must be present;
    ``url``: the rule's documentation page, for a plugin (JSON ``url``, SARIF ``helpUri``)."""
    if not CODE_PATTERN.match(code):
        raise ValueError(f"rule code {code!r} must look like DX401 (letters then digits)")
    if not NAME_PATTERN.match(name):
        raise ValueError(f"rule name {name!r} must be kebab-case")
    if url is not None and not url.startswith(("https://", "http://")):
        raise ValueError(f"rule {code}: url {url!r} must be an http:// or https:// address")

    def decorate(check: CheckFunction) -> Rule:
        return Rule(
            code=code,
            name=name,
            severity=Severity(severity),
            summary=summary,
            check=check,
            fix=None if fix is None else Applicability(fix),
            default=default,
            needs_host=needs_host,
            triggers=None if triggers is None else frozenset(triggers),
            doc=check.__doc__ or "",
            options=dict(options or {}),
            help_url=url,
        )

    return decorate


class RuleContext:
    """What a rule sees: the document, its facts, the host (or None) and its options.

    One context serves every rule run on a document; the engine sets ``rule``.
    """

    def __init__(
        self,
        doc: Document,
        facts: DomainFacts,
        host: Any = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.doc = doc
        self.facts = facts
        self.host = host
        self.rule: Rule | None = None
        self.edit = Editor(doc)
        self.notes: list[tuple[str, str]] = []
        self.unused_suppressions: list[Any] = []  # filled by the engine for unused-suppression
        self._options = options or {}

    def option(self, key: str) -> Any:
        """A per-rule option: the configured value, else the rule's default."""
        assert self.rule is not None
        configured = self._options.get(self.rule.name, {})
        return configured.get(key, self.rule.options[key])

    def finding(
        self,
        element: etree._Element,
        message: str,
        *,
        attribute: str | None = None,
        fix: Fix | None = None,
        severity: Severity | str | None = None,
    ) -> Finding:
        """A finding located at ``element``'s start tag, or at one of its attributes."""
        doc = self.doc
        span = doc.span(element)
        start, end = span.start, span.start_end
        if attribute is not None:
            attribute_span = doc.attribute_span(element, attribute)
            if attribute_span is not None:
                start, end = attribute_span.name_start, attribute_span.end
        return self.finding_at(
            start, end, message, path=doc.xpath_of(element), fix=fix, severity=severity
        )

    def finding_at(
        self,
        start: int,
        end: int,
        message: str,
        *,
        path: str,
        fix: Fix | None = None,
        severity: Severity | str | None = None,
    ) -> Finding:
        """A finding at a byte span that is not an element (a comment, say)."""
        rule_ = self.rule
        assert rule_ is not None, "finding() called outside a rule"
        line, column = self.doc.position(start)
        end_line, end_column = self.doc.position(end)
        return Finding(
            code=rule_.code,
            name=rule_.name,
            severity=rule_.severity if severity is None else Severity(severity),
            message=message,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            path=path,
            fix=fix,
            offset=start,
        )

    def safe_fix(self, title: str, *edits: Edit) -> Fix:
        return Fix(Applicability.SAFE, title, edits)

    def unsafe_fix(self, title: str, *edits: Edit) -> Fix:
        return Fix(Applicability.UNSAFE, title, edits)

    def note(self, message: str) -> None:
        """Say why the rule stayed silent (e.g. the host snapshot lacks node devices).

        Shown with ``--verbose``; never a finding.
        """
        assert self.rule is not None
        self.notes.append((self.rule.code, message))
