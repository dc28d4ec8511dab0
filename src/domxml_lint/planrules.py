"""Plan rules: checks over every guest of one host at once.

The files linted in one run that resolve to the same host snapshot (``--host``,
or the ``host`` of the config that applies to them) are that host's guests;
with ``--connect --all-domains`` the live host's domains are too. After every
document was checked, each plan rule sees all of them together: the vCPUs of
all guests against the host's CPUs, one disk image in two guests, two guests
pinned to the same host CPUs. Files with no host form no plan.

A plan rule is declared like a rule, with :func:`plan_rule`, and registered
through its own hook, ``domxml_lint_plan_rules`` (built-ins and third-party
plugins alike)::

    from domxml_lint import hookimpl, plan_rule

    @plan_rule(code="ACME101", name="acme-too-many-guests", severity="warning",
               summary="More than 50 guests on one host")
    def too_many_guests(ctx):
        \"\"\"## What it does ...\"\"\"
        if len(ctx.guests) > 50:
            yield ctx.host_finding(f"{len(ctx.guests)} guests on one host")

    @hookimpl
    def domxml_lint_plan_rules():
        return [too_many_guests]

It reads :class:`~domxml_lint.guests.GuestFacts` (never the XML) and reports
findings that belong to one guest's file and line (:meth:`PlanContext.finding`)
or to the host snapshot (:meth:`PlanContext.host_finding`), each pointing at the
other places involved (``related``). Plan rules are selected, ignored,
suppressed and documented like rules; their findings have no fixes.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._records import NamedTuple
from .errors import InternalError
from .findings import Finding, Related, Severity
from .guests import GuestFacts, Place
from .rule import ANY_DOMAIN, DeferredCheck, Domains, HostPart, Rule, RuleContext, Stage, rule

if TYPE_CHECKING:
    from .host import Host

#: How many related locations a finding lists; the message counts the rest.
MAX_RELATED = 5


class PlanFinding(NamedTuple):
    """A plan rule's finding and who it belongs to: a guest, or (``guest`` None) the host."""

    guest: GuestFacts | None
    finding: Finding
    #: For a host finding: which part of the snapshot it is about (``system/ksm``).
    fact: str | None = None


PlanCheckFunction = Callable[["PlanContext"], Iterable[PlanFinding]]


def runs_on_plans_only(ctx: RuleContext) -> Iterable[Finding]:
    current = ctx.rule.code if ctx.rule is not None else "?"
    raise InternalError(
        ctx.doc.path,
        f"plan rule {current} was run on a single document",
        hint="plan rules run on every guest of a host at once; this is a bug, please report it",
    )


@attrs.frozen
class PlanRule(Rule):
    """A rule over every guest of one host (:attr:`Stage.PLAN`); ``plan_check`` is its check."""

    plan_check: PlanCheckFunction = attrs.field(eq=False, repr=False, kw_only=True)

    @property
    def deferred(self) -> bool:
        return isinstance(self.plan_check, DeferredCheck)

    def loaded(self) -> PlanRule:
        check = self.plan_check
        if not isinstance(check, DeferredCheck):
            return self
        found = check.load(self)
        assert isinstance(found, PlanRule)
        return found

    @property
    def origin(self) -> str:
        return (getattr(self.plan_check, "__module__", None) or "?").split(".")[0]

    @property
    def source_file(self) -> str:
        module = getattr(self.plan_check, "__module__", "?")
        if self.origin == "domxml_lint":
            return "src/" + module.replace(".", "/") + ".py"
        try:
            return inspect.getsourcefile(self.plan_check) or module
        except TypeError:
            return module

    @property
    def source_line(self) -> int | None:
        try:
            return inspect.getsourcelines(self.loaded().plan_check)[1]
        except (OSError, TypeError):
            return None


def plan_rule(
    *,
    code: str,
    name: str,
    severity: str | Severity,
    summary: str,
    default: bool = True,
    domains: Domains = ANY_DOMAIN,
    needs: Iterable[HostPart] = (),
    libvirt: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    url: str | None = None,
) -> Callable[[PlanCheckFunction], PlanRule]:
    """Declare a plan rule: the arguments mean what they mean for :func:`~domxml_lint.rule`.

    ``domains`` chooses the guests the rule sees (by domain type and arch);
    ``needs`` the host parts it reads (a plan always has a host). There are no
    ``triggers`` and no fixes.
    """
    declare = rule(
        code=code,
        name=name,
        severity=severity,
        summary=summary,
        default=default,
        domains=domains,
        needs=needs,
        needs_host=True,
        libvirt=libvirt,
        stage=Stage.PLAN,
        options=options,
        url=url,
    )

    def decorate(check: PlanCheckFunction) -> PlanRule:
        base = declare(runs_on_plans_only)
        fields = {str(f.alias): getattr(base, f.name) for f in attrs.fields(Rule) if f.init}
        fields["doc"] = check.__doc__ or ""
        return PlanRule(**fields, plan_check=check)

    return decorate


class PlanContext:
    """What a plan rule sees: the host, its guests, and builders for findings.

    ``guests`` are in the order of their paths (live domains by name), so
    findings do not depend on the order files were given in.
    """

    def __init__(
        self,
        host: Host,
        guests: Sequence[GuestFacts],
        rule_: PlanRule,
        *,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.host = host
        self.guests = tuple(guests)
        self.rule = rule_
        self.notes: list[tuple[str, str]] = []
        self._options = options or {}

    def option(self, key: str) -> Any:
        configured = self._options.get(self.rule.name, {})
        return configured.get(key, self.rule.options[key])

    def related(self, guest: GuestFacts, place: Place | None, message: str) -> Related:
        """A "see also" location in another guest's document."""
        where = place or guest.root
        return Related(guest.path, where.line, where.column, message)

    def finding(
        self,
        guest: GuestFacts,
        place: Place | None,
        message: str,
        *,
        related: Iterable[Related] = (),
        severity: Severity | str | None = None,
    ) -> PlanFinding:
        """A finding in ``guest``'s document at ``place`` (its ``<domain>`` when None)."""
        where = place or guest.root
        return PlanFinding(guest, self._finding(where, message, related, severity))

    def host_finding(
        self,
        message: str,
        *,
        fact: str | None = None,
        related: Iterable[Related] = (),
        severity: Severity | str | None = None,
    ) -> PlanFinding:
        """A finding about the host itself, located in its snapshot.

        ``fact`` names the part of the snapshot it is about, as a path below the
        bundle's root: ``system/tuned``, ``system/ksm``, ``capabilities/host/topology``
        (None: the snapshot as a whole). The run resolves it to a line of the file.
        """
        where = Place(1, 1, 1, 1, "/" + (fact or ""))
        return PlanFinding(None, self._finding(where, message, related, severity), fact)

    def _finding(
        self,
        where: Place,
        message: str,
        related: Iterable[Related],
        severity: Severity | str | None,
    ) -> Finding:
        return Finding(
            code=self.rule.code,
            name=self.rule.name,
            severity=self.rule.severity if severity is None else Severity(severity),
            message=message,
            line=where.line,
            column=where.column,
            end_line=where.end_line,
            end_column=where.end_column,
            path=where.xpath,
            related=tuple(related),
        )

    def note(self, message: str) -> None:
        """Say why the rule stayed silent (shown with ``--verbose``)."""
        self.notes.append((self.rule.code, message))


def others(items: Iterable[Related], total: int | None = None) -> tuple[tuple[Related, ...], str]:
    """At most :data:`MAX_RELATED` related locations, and ``" (and 3 more)"`` for the rest.

    ``items`` may be a lazy iterable of ``total`` items: only the first few are made, so a
    finding among thousands of guests costs no more than one among two.
    """
    if total is None:
        items = list(items)
        total = len(items)
    shown = tuple(itertools.islice(items, MAX_RELATED))
    rest = total - len(shown)
    return shown, (f" (and {rest} more)" if rest > 0 else "")
