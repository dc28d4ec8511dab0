"""domxml-lint: lint and auto-fix libvirt domain XML.

Library use::

    import domxml_lint

    for finding in domxml_lint.lint("vm.xml"):
        print(finding.line, finding.code, finding.message)

    result = domxml_lint.fix("vm.xml", unsafe=False)
    if result.changed:
        print(result.output)

The package imports without libvirt-python; only live-libvirt features need it.
"""

from __future__ import annotations

from .api import NotADomainError, fix, lint
from .errors import DomxmlLintError, HostileInputError, InputError, InternalError, UsageError
from .findings import Applicability, Edit, Finding, Fix, Severity
from .fixer import FixResult
from .hookspecs import hookimpl
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
    "HostileInputError",
    "InputError",
    "InternalError",
    "NotADomainError",
    "Rule",
    "RuleContext",
    "Severity",
    "UsageError",
    "__version__",
    "fix",
    "hookimpl",
    "lint",
    "load_host",
    "rule",
]


def __getattr__(name: str):
    # The host model loads on first use: `import domxml_lint` stays light and libvirt-free.
    if name == "load_host":
        from .host import load_host

        return load_host
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
