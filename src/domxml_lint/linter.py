"""The engine: document -> facts -> rules -> findings.

A :class:`Linter` is built once per run from the selected rules and the host,
then checks documents one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .document import Document
from .errors import DomxmlLintError, InternalError
from .facts import DomainFacts
from .findings import Finding
from .rule import Rule, RuleContext
from .ruleset import RuleSet
from .suppression import apply_suppressions, find_suppressions

UNUSED_SUPPRESSION = "unused-suppression"


class Checked(NamedTuple):
    """The findings for one document, plus notes on why rules stayed silent."""

    findings: list[Finding]
    notes: list[tuple[str, str]]


class Linter:
    """Runs a fixed selection of rules against documents."""

    def __init__(
        self,
        rules: Sequence[Rule],
        ruleset: RuleSet,
        *,
        host: Any = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.host = host
        self.options = options or {}
        self.skipped_for_host = [r for r in rules if r.needs_host and host is None]
        self.skipped_codes = tuple(r.code for r in self.skipped_for_host)
        runnable = [r for r in rules if not (r.needs_host and host is None)]
        self.suppression_rule = next((r for r in runnable if r.name == UNUSED_SUPPRESSION), None)
        self.rules = [r for r in runnable if r.name != UNUSED_SUPPRESSION]
        self.active_codes = {r.code for r in self.rules}
        # Rules indexed by the element names that trigger them, so a document
        # only visits the rules whose elements it has (positions keep code order).
        self._always = [i for i, r in enumerate(self.rules) if r.triggers is None]
        self._by_tag: dict[str, list[int]] = {}
        for position, item in enumerate(self.rules):
            for tag in item.triggers or ():
                self._by_tag.setdefault(tag, []).append(position)
        self._trigger_tags = frozenset(self._by_tag)
        # Documents of one repository share a few shapes: the rule list per set of triggers.
        self._rules_by_triggers: dict[frozenset[str], list[Rule]] = {}

    def rules_for(self, tags: frozenset[str]) -> list[Rule]:
        """The selected rules that can fire on a document with these element names."""
        present = tags & self._trigger_tags
        chosen = self._rules_by_triggers.get(present)
        if chosen is None:
            positions = set(self._always)
            for tag in present:
                positions.update(self._by_tag[tag])
            chosen = self._rules_by_triggers[present] = [self.rules[p] for p in sorted(positions)]
        return chosen

    def check(self, doc: Document) -> Checked:
        """Run every selected rule on ``doc`` (whose root must be ``<domain>``)."""
        facts = DomainFacts(doc)
        ctx = RuleContext(doc, facts, self.host, self.options)
        findings: list[Finding] = []
        self._run(self.rules_for(facts.tags), ctx, findings)
        suppressions = find_suppressions(doc)
        if suppressions:
            findings, unused = apply_suppressions(
                doc, findings, suppressions, self.ruleset, self.active_codes
            )
            if unused and self.suppression_rule is not None:
                ctx.unused_suppressions = unused
                self._run([self.suppression_rule], ctx, findings)
        findings.sort(key=lambda f: f.sort_key)
        return Checked(findings, ctx.notes)

    def _run(self, rules: Sequence[Rule], ctx: RuleContext, findings: list[Finding]) -> None:
        """Run rules in order, adding their findings to ``findings``."""
        for item in rules:
            ctx.rule = item
            try:
                for finding in item.check(ctx):
                    if finding.fix is not None and finding.fix.applicability is not item.fix:
                        raise InternalError(
                            ctx.doc.path,
                            f"rule {item.code} ({item.name}) offered a "
                            f"{finding.fix.applicability} fix but declares fix={item.fix}",
                            hint="this is a bug in the rule; please report it",
                        )
                    findings.append(finding)
            except DomxmlLintError:
                raise
            except Exception as exc:
                raise InternalError(
                    ctx.doc.path,
                    f"internal error in rule {item.code} ({item.name}) from {item.origin}: "
                    f"{type(exc).__name__}: {exc}",
                    hint="nothing was changed; please report this with the file",
                ) from exc
