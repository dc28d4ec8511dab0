"""The built-in rules, registered through the same pluggy hook as third-party plugins.

One package per family (``dx4_storage`` holds the DX4xx rules; see
:mod:`domxml_lint.families`), one module per rule or tight group of rules.
Every module contributes the :class:`~domxml_lint.rule.Rule` objects it defines
at top level; adding a rule means adding it to a module of its family.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..families import FAMILIES
from ..hookspecs import hookimpl
from ..planrules import PlanRule
from ..rule import Rule


def _builtin() -> list[Rule]:
    found: list[Rule] = []
    for family in FAMILIES:
        package = importlib.import_module(f"{__name__}.{family.package}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.extend(
                value
                for value in vars(module).values()
                if isinstance(value, Rule) and _defined_in(value, module.__name__)
            )
    return found


def _defined_in(item: Rule, module: str) -> bool:
    check = item.plan_check if isinstance(item, PlanRule) else item.check
    return check.__module__ == module


def builtin_rules() -> list[Rule]:
    """The built-in rules that check one document at a time."""
    return [r for r in _builtin() if not isinstance(r, PlanRule)]


def builtin_plan_rules() -> list[PlanRule]:
    """The built-in plan rules (every guest of a host at once)."""
    return [r for r in _builtin() if isinstance(r, PlanRule)]


@hookimpl
def domxml_lint_rules() -> list[Rule]:
    return builtin_rules()


@hookimpl
def domxml_lint_plan_rules() -> list[PlanRule]:
    return builtin_plan_rules()
