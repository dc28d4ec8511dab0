"""domxml-lint: lint and auto-fix libvirt domain XML.

Library use::

    import domxml_lint

    for finding in domxml_lint.lint("vm.xml"):
        print(finding.line, finding.code, finding.message)

    result = domxml_lint.fix("vm.xml", unsafe=False)
    if result.changed:
        print(result.output)

    host = domxml_lint.load_host("hosts/kvm-01.xml")
    for path, findings in domxml_lint.lint_host(["a.xml", "b.xml"], host=host).items():
        ...   # each guest's findings, with those of the plan rules over both

The package imports without libvirt-python; only live-libvirt features need it.
"""

from __future__ import annotations

from .api import NotADomainError, fix, lint, lint_host
from .errors import DomxmlLintError, HostileInputError, InputError, InternalError, UsageError
from .findings import Applicability, Edit, Finding, Fix, Related, Severity
from .fixer import FixResult
from .guests import GuestFacts
from .hookspecs import hookimpl
from .planrules import PlanContext, PlanRule, plan_rule
from .rule import (
    ACCELERATED,
    ANY_DOMAIN,
    CGROUPS,
    KVM,
    QEMU,
    X86,
    Domains,
    HostPart,
    Rule,
    RuleContext,
    Stage,
    rule,
)

__version__ = "0.1.0"

__all__ = [
    "ACCELERATED",
    "ANY_DOMAIN",
    "CGROUPS",
    "KVM",
    "QEMU",
    "X86",
    "Applicability",
    "Domains",
    "HostPart",
    "Stage",
    "DomxmlLintError",
    "Edit",
    "Finding",
    "Fix",
    "FixResult",
    "GuestFacts",
    "HostileInputError",
    "InputError",
    "InternalError",
    "NotADomainError",
    "PlanContext",
    "PlanRule",
    "Related",
    "Rule",
    "RuleContext",
    "Severity",
    "UsageError",
    "__version__",
    "fix",
    "hookimpl",
    "lint",
    "lint_host",
    "load_host",
    "plan_rule",
    "rule",
]


def __getattr__(name: str):
    # The host model loads on first use: `import domxml_lint` stays light and libvirt-free.
    if name == "load_host":
        from .host import load_host

        return load_host
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
