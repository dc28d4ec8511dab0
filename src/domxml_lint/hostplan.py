"""The plan stage of a run: plan rules over every guest of each host.

After every document was checked (in this process or in ``--jobs`` workers),
the results whose settings name the same host (the same snapshot files, or the
run's live connection) form that host's plan. Each plan rule selected for some
guest of a host runs once on all of them; a finding that belongs to a guest is
kept where the rule is selected for that guest's file and not suppressed
there, and findings about the host itself go to a result of their own, located
in the host snapshot (or, for a live host, at its connection URI).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree

from ._records import NamedTuple
from .document import Document
from .errors import DomxmlLintError, InternalError
from .fileio import read_file
from .findings import Finding, Severity
from .guests import GuestFacts, Place
from .planrules import PlanContext, PlanFinding, PlanRule
from .report import FileResult

if TYPE_CHECKING:
    from .config import FileSettings
    from .host import Host
    from .plan import RunPlan


class PlanNote(NamedTuple):
    """What ``--verbose`` says about the plans of a run: one line each."""

    text: str


def run_plans(
    entries: Sequence[tuple[FileResult, FileSettings | None]], plan: RunPlan
) -> tuple[list[FileResult], list[PlanNote]]:
    """Run the plan rules; return the results (plus any about hosts) and notes for ``-v``.

    ``entries`` pairs each result with the settings it was checked with (None for
    results that were never checked, such as excluded files).
    """
    results = [result for result, _ in entries]
    groups: dict[int, HostPlan] = {}
    without_host: list[FileResult] = []
    unserved: set[str] = set()
    counted: set[int] = set()  # linters whose skipped plan rules are in ``unserved``
    for result, settings in entries:
        if settings is None or not result.linted:
            continue
        host = plan.host(settings.host)
        linter = plan.linter(settings)
        if host is None:
            without_host.append(result)
            if id(linter) not in counted:  # the same few linters serve every file
                counted.add(id(linter))
                unserved.update(s.rule.code for s in linter.skipped if isinstance(s.rule, PlanRule))
            continue
        group = groups.get(id(host))
        if group is None:
            group = groups[id(host)] = HostPlan(
                host,
                connection=settings.host.connection,
                files=settings.host.files,
                options=settings.rule_options,
                fail_on=settings.fail_on,
            )
        group.add(result, linter.plan_rules, fail_on=settings.fail_on)
    notes: list[PlanNote] = []
    if without_host and unserved:
        notes.append(
            PlanNote(
                f"no host plan for {_count(len(without_host), 'document')} without a host "
                f"snapshot: plan rules {', '.join(sorted(unserved))} need one (--host)"
            )
        )
    for group in groups.values():
        host_results = group.run()
        results.extend(host_results)
        notes.extend(group.notes)
    return results, notes


class HostPlan:
    """The guests of one host and the plan rules selected for them.

    ``add`` each checked result (with the plan rules selected for it), then
    ``run``: plan findings are added to the guests' results, and the results
    about the host itself are returned.
    """

    def __init__(
        self,
        host: Host,
        *,
        connection: str | None = None,
        files: Sequence[str] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        fail_on: Severity = Severity.WARNING,
    ) -> None:
        self.host = host
        self.connection = connection
        self.files = tuple(files)
        self.members: list[tuple[FileResult, frozenset[str]]] = []
        self.rules: dict[str, PlanRule] = {}
        self.options = options or {}
        self.fail_on = fail_on
        self.notes: list[PlanNote] = []

    def add(
        self, result: FileResult, rules: Iterable[PlanRule], *, fail_on: Severity | None = None
    ) -> None:
        """A guest's result and the plan rules selected for its file."""
        chosen = {r.code: r for r in rules}
        self.members.append((result, frozenset(chosen)))
        self.rules.update(chosen)
        if fail_on is not None and fail_on.rank < self.fail_on.rank:
            self.fail_on = fail_on

    @property
    def shown(self) -> str:
        if self.connection is not None:
            return self.connection
        if self.files:
            return ", ".join(_shown_path(path) for path in self.files)
        return ", ".join(_shown_path(path) for path in self.host.sources) or "the host"

    def run(self) -> list[FileResult]:
        guests = sorted(
            (result.guest for result, _ in self.members if result.guest is not None),
            key=lambda g: (g.kind, g.path),
        )
        owners = {id(result.guest): (result, codes) for result, codes in self.members}
        if not guests or not self.rules:
            return []
        locator = _HostLocator(self.host, self.connection)
        touched: dict[int, FileResult] = {}
        for code in sorted(self.rules):
            rule = self.rules[code]
            seen = [g for g in guests if _applies(rule, g)]
            if not seen:
                continue
            ctx = PlanContext(self.host, seen, rule, options=self.options)
            for found in _check(rule, ctx, self.shown):
                if found.guest is None:
                    locator.add(found, self.fail_on)
                    continue
                owner = owners.get(id(found.guest))
                if owner is None:
                    raise InternalError(
                        found.guest.path,
                        f"plan rule {code} reported a finding for a guest it was not given",
                        hint="this is a bug in the rule; please report it",
                    )
                result, codes = owner
                finding = found.finding
                if code in codes and not found.guest.suppresses(code, finding.path):
                    result.findings.append(finding)
                    touched[id(result)] = result
            self.notes += [PlanNote(f"note: host {self.shown}: {c}: {n}") for c, n in ctx.notes]
        for result in touched.values():
            result.findings.sort(key=lambda f: f.sort_key)
        self.notes.insert(
            0,
            PlanNote(
                f"host plan {self.shown}: {_count(len(guests), 'guest')}; plan rules run: "
                + ", ".join(sorted(self.rules))
            ),
        )
        return locator.results()


def _applies(rule: PlanRule, guest: GuestFacts) -> bool:
    types = rule.domains.types
    return types is None or guest.virt_type in types


def _check(rule: PlanRule, ctx: PlanContext, shown: str) -> list[PlanFinding]:
    try:
        return list(rule.loaded().plan_check(ctx))
    except DomxmlLintError:
        raise
    except Exception as exc:
        raise InternalError(
            shown,
            f"internal error in plan rule {rule.code} ({rule.name}) from {rule.origin}: "
            f"{type(exc).__name__}: {exc}",
            hint="nothing was changed; please report this with the files",
        ) from exc


class _HostLocator:
    """Puts findings about the host itself into results of their own, one per snapshot file
    (or one for a live connection), at the line of the fact they are about."""

    def __init__(self, host: Host, connection: str | None) -> None:
        self.host = host
        self.connection = connection
        self._results: dict[str, FileResult] = {}
        self._documents: dict[str, Document | None] = {}

    def add(self, found: PlanFinding, fail_on: Severity) -> None:
        path = self._file_of(found.fact)
        if path is None:  # a live host: its connection URI, no lines
            shown, kind, finding = self.connection or "host", "connection", found.finding
            doc = None
        else:
            shown, kind = _shown_path(path), "host"
            doc = self._document(path)
            finding = found.finding
            if doc is not None:
                finding = _located(finding, doc, found.fact)
        result = self._results.get(shown)
        if result is None:
            result = self._results[shown] = FileResult(shown, kind=kind, fail_on=fail_on)
            if doc is not None:
                result.source, result.encoding = doc.data, doc.encoding
        result.findings.append(finding)

    def results(self) -> list[FileResult]:
        for result in self._results.values():
            result.findings.sort(key=lambda f: f.sort_key)
        return list(self._results.values())

    def _file_of(self, fact: str | None) -> str | None:
        if self.connection is not None:
            return None
        head = (fact or "").split("/", 1)[0]
        system, caps = self.host.system, self.host.capabilities
        if head == "system" and system is not None and system.source:
            return system.source
        if head == "capabilities" and caps is not None and caps.source:
            return caps.source
        for candidate in (
            system.source if system is not None else None,
            caps.source if caps is not None else None,
            *self.host.sources,
        ):
            if candidate and os.path.isfile(candidate):
                return candidate
        return None

    def _document(self, path: str) -> Document | None:
        if path not in self._documents:
            try:
                self._documents[path] = Document.parse(read_file(path), path)
            except DomxmlLintError:  # it loaded as the host a moment ago; be safe anyway
                self._documents[path] = None
        return self._documents[path]


def _located(finding: Finding, doc: Document, fact: str | None) -> Finding:
    """``finding`` moved to the element of the snapshot that ``fact`` names (the nearest
    one that exists: a fact path below a missing element lands on its parent)."""
    element = doc.root
    steps = [step for step in (fact or "").split("/") if step]
    if steps and element.tag == steps[0]:
        steps = steps[1:]  # a document of that part alone (a capabilities file)
    for step in steps:
        found = _child(element, step)
        if found is None:
            break
        element = found
    place = _place(doc, element)
    return Finding(
        code=finding.code,
        name=finding.name,
        severity=finding.severity,
        message=finding.message,
        line=place.line,
        column=place.column,
        end_line=place.end_line,
        end_column=place.end_column,
        path=place.xpath,
        related=finding.related,
    )


def _child(element: etree._Element, step: str) -> etree._Element | None:
    """A child by tag, or ``service[tuned]``: the child whose ``name`` is ``tuned``."""
    tag, _, name = step.partition("[")
    for item in element.iterchildren(tag):
        if not name or item.get("name") == name.rstrip("]"):
            return item
    return None


def _place(doc: Document, element: etree._Element) -> Place:
    from .guests import place_of

    return place_of(doc, element)


def _shown_path(path: str) -> str:
    """A path as the output shows it: relative to the current directory when below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"
