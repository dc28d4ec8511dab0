"""The engine: document -> facts -> rules -> findings.

A :class:`Linter` is built once per run from the selected rules and the host,
then checks documents one by one. It decides what runs, from what the rules
declare: a rule whose host parts the snapshot lacks is left out of the whole
run; per document, rules whose trigger elements are absent, or whose domains
do not include this one, are skipped. Rules of the suppressions stage run last,
and see which suppression comments suppressed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .document import Document
from .errors import DomxmlLintError, InternalError
from .facts import DomainFacts
from .findings import Finding, Severity
from .planrules import PlanRule
from .rule import Rule, RuleContext, Stage
from .ruleset import RuleSet
from .suppression import apply_suppressions, find_suppressions
from .versions import Versions, parse_version

if TYPE_CHECKING:
    from .host import Host


class Checked(NamedTuple):
    """The findings for one document, plus notes on why rules stayed silent.

    ``not_applicable`` counts the rules skipped because the document's domain
    type or architecture is not one they apply to, per :class:`~.rule.Domains` label.
    """

    findings: list[Finding]
    notes: list[tuple[str, str]]
    not_applicable: tuple[tuple[str, int], ...] = ()
    #: The document's facts, for what runs after the check (plan rules' guest facts).
    facts: DomainFacts | None = None


def versions_for(configured: Versions, host: Host | None) -> Versions:
    """The configured versions, the gaps filled from what the host snapshot recorded."""
    if host is None:
        return configured
    return Versions(
        configured.libvirt or parse_version(host.libvirt_version),
        configured.qemu or parse_version(host.qemu_version),
    )


class FixableCheck(NamedTuple):
    """The findings of the rules that can offer a fix, on one document
    (:meth:`Linter.check_fixable`); :meth:`Linter.complete` adds the rest."""

    findings: list[Finding]
    ctx: RuleContext
    plan: _Plan
    #: Position in ``plan.rules`` -> that rule's findings and notes.
    done: dict[int, tuple[list[Finding], list[tuple[str, str]]]]


class SkippedRule(NamedTuple):
    """A selected rule that cannot run at all in this run, and why."""

    rule: Rule
    reason: str


class _Plan(NamedTuple):
    """The rules to run on documents of one shape (trigger elements, type, arch)."""

    rules: list[Rule]
    not_applicable: tuple[tuple[str, int], ...]


class Linter:
    """Runs a fixed selection of rules against documents."""

    def __init__(
        self,
        rules: Sequence[Rule],
        ruleset: RuleSet,
        *,
        host: Host | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        versions: Versions | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.host = host
        self.options = options or {}
        self.versions = versions_for(versions or Versions(), host)
        self.selected = tuple(rules)
        skipped: list[SkippedRule] = []
        runnable: list[Rule] = []
        for item in rules:
            reason = self._missing_host_part(item)
            if reason is None:
                runnable.append(item)
            else:
                skipped.append(SkippedRule(item, reason))
        self.skipped = tuple(skipped)
        #: Rules skipped because no host snapshot was given (the summary counts them).
        self.skipped_codes = tuple(s.rule.code for s in skipped if host is None)
        self.rules = [r for r in runnable if r.stage is Stage.DOCUMENT]
        self.late_rules = [r for r in runnable if r.stage is Stage.SUPPRESSIONS]
        #: Plan rules: they run after every document, on every guest of the host at once.
        self.plan_rules = [r for r in runnable if isinstance(r, PlanRule)]
        self.active_codes = {r.code for r in self.rules}
        self._yielding = frozenset(r.code for r in self.rules if r.yields)
        self._yielding_with_fix = any(r.yields and r.fix is not None for r in self.rules)
        # Rules indexed by the element names that trigger them, so a document
        # only visits the rules whose elements it has (positions keep code order).
        self._always = [i for i, r in enumerate(self.rules) if r.triggers is None]
        self._by_tag: dict[str, list[int]] = {}
        for position, item in enumerate(self.rules):
            for tag in item.triggers or ():
                self._by_tag.setdefault(tag, []).append(position)
        self._trigger_tags = frozenset(self._by_tag)
        # Documents of one repository share a few shapes: the rule list per shape.
        self._plans: dict[tuple[frozenset[str], str | None, str | None], _Plan] = {}
        # Per (domain type, arch): whether each rule applies (Domains.applies reads only these).
        self._applies: dict[tuple[str | None, str | None], list[bool]] = {}

    @property
    def runs(self) -> tuple[Rule, ...]:
        """The selected rules this run applies: all but host-aware ones when there is no host.

        A rule whose host part is missing counts: it was asked for, and ``-v`` says why
        it found nothing (SARIF lists these rules as the run's rules).
        """
        return tuple(r for r in self.selected if not (r.needs and self.host is None))

    def _missing_host_part(self, item: Rule) -> str | None:
        if not item.needs:
            return None
        if self.host is None:
            return "no host snapshot (--host)"
        missing = [part for part in item.needs if not part.present(self.host)]
        if not missing:
            return None
        return "the host snapshot lacks " + " and ".join(sorted(p.value for p in missing))

    def rules_for(self, facts: DomainFacts) -> _Plan:
        """The selected rules that can fire on a document of this shape."""
        present = facts.tags & self._trigger_tags
        key = (present, facts.virt_type, facts.arch)
        plan = self._plans.get(key)
        if plan is None:
            positions = set(self._always)
            for tag in present:
                positions.update(self._by_tag[tag])
            applies = self._applies.get(key[1:])
            if applies is None:
                applies = self._applies[key[1:]] = [r.domains.applies(facts) for r in self.rules]
            rules = self.rules
            ordered = sorted(positions)
            chosen = [rules[p] for p in ordered if applies[p]]
            skipped: dict[str, int] = {}
            if len(chosen) < len(ordered):
                for position in ordered:
                    if not applies[position]:
                        label = rules[position].domains.label
                        skipped[label] = skipped.get(label, 0) + 1
            plan = self._plans[key] = _Plan(chosen, tuple(sorted(skipped.items())))
        return plan

    def check(self, doc: Document) -> Checked:
        """Run every selected rule on ``doc`` (whose root must be ``<domain>``)."""
        facts = DomainFacts(doc)
        ctx = RuleContext(doc, facts, self.host, self.options, self.versions)
        findings: list[Finding] = []
        plan = self.rules_for(facts)
        self._run(plan.rules, ctx, findings)
        return self._finish(ctx, plan, findings)

    def check_fixable(self, doc: Document) -> FixableCheck | None:
        """Run only the rules that can offer a fix, for the fix loop's passes between the
        first and the last; :meth:`complete` runs the rest when no pass follows.

        None when the fixable findings depend on the other rules' findings: the document
        has suppression comments (a late rule with a fix reports the unused ones), or a
        yielding rule (dropped where another rule reports an error) has a fix.
        """
        if self._yielding_with_fix or find_suppressions(doc):
            return None
        facts = DomainFacts(doc)
        ctx = RuleContext(doc, facts, self.host, self.options, self.versions)
        plan = self.rules_for(facts)
        done: dict[int, tuple[list[Finding], list[tuple[str, str]]]] = {}
        for position, item in enumerate(plan.rules):
            if item.fix is not None:
                done[position] = self._run_one(item, ctx)
        fixable = sorted((f for found, _ in done.values() for f in found), key=lambda f: f.sort_key)
        return FixableCheck(fixable, ctx, plan, done)

    def complete(self, partial: FixableCheck) -> Checked:
        """Run the rest of the rules on a :meth:`check_fixable` document: the same findings
        and notes, in the same order, as :meth:`check`."""
        ctx, plan = partial.ctx, partial.plan
        findings: list[Finding] = []
        notes: list[tuple[str, str]] = []
        for position, item in enumerate(plan.rules):
            found, said = partial.done.get(position) or self._run_one(item, ctx)
            findings += found
            notes += said
        ctx.notes = notes
        return self._finish(ctx, plan, findings)

    def _run_one(self, item: Rule, ctx: RuleContext) -> tuple[list[Finding], list[tuple[str, str]]]:
        """One rule's findings and notes."""
        before = len(ctx.notes)
        found: list[Finding] = []
        self._run((item,), ctx, found)
        notes = ctx.notes[before:]
        del ctx.notes[before:]
        return found, notes

    def _finish(self, ctx: RuleContext, plan: _Plan, findings: list[Finding]) -> Checked:
        """One finding per problem, suppressions, the late rules; in document order."""
        doc, facts = ctx.doc, ctx.facts
        if self._yielding:
            findings = self._one_finding_per_problem(findings)
        suppressions = find_suppressions(doc)
        if suppressions:
            findings, unused = apply_suppressions(
                doc, findings, suppressions, self.ruleset, self.active_codes
            )
            if unused and self.late_rules:
                ctx.unused_suppressions = unused
                self._run(self.late_rules, ctx, findings)
        findings.sort(key=lambda f: f.sort_key)
        return Checked(findings, ctx.notes, plan.not_applicable, facts)

    def _one_finding_per_problem(self, findings: list[Finding]) -> list[Finding]:
        """Drop a yielding rule's finding where another rule reports an error on the same
        element: that rule says it in libvirt's own words (the schema's are generic)."""
        specific = {
            f.path
            for f in findings
            if f.code not in self._yielding and f.severity is Severity.ERROR
        }
        if not specific:
            return findings
        return [f for f in findings if f.code not in self._yielding or f.path not in specific]

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
