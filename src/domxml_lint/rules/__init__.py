"""The built-in rules, registered through the same pluggy hook as third-party plugins.

One package per family (``dx4_storage`` holds the DX4xx rules; see
:mod:`domxml_lint.families`), one module per rule or tight group of rules.
Every module contributes the :class:`~domxml_lint.rule.Rule` objects it defines
at top level; adding a rule means adding it to a module of its family and
regenerating the index (``python tools/rule_index.py --write``), from which a
run learns the rules without importing their modules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ..families import FAMILIES
from ..findings import Applicability, Severity
from ..hookspecs import hookimpl
from ..planrules import PlanRule, runs_on_plans_only
from ..rule import DeferredCheck, Domains, HostPart, Rule, Stage


def scan_modules() -> Iterator[tuple[str, str, Rule]]:
    """(module, attribute, rule) for every rule the family modules define: imports them all.

    The index (``_index.py``) is generated from this; runs read the index instead.
    """
    for family in FAMILIES:
        package = importlib.import_module(f"{__name__}.{family.package}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for attribute, value in vars(module).items():
                if isinstance(value, Rule) and _defined_in(value, module.__name__):
                    yield module.__name__, attribute, value


def _defined_in(item: Rule, module: str) -> bool:
    check = item.plan_check if isinstance(item, PlanRule) else item.check
    return check.__module__ == module


@lru_cache(maxsize=1)
def _indexed() -> tuple[Rule, ...]:
    """Every built-in rule from the index, each check deferred until a document needs it."""
    from ._index import RULES

    domains: dict[tuple[object, ...], Domains] = {}
    found: list[Rule] = []
    for (
        module, attribute, kind, code, name, severity, summary, fix, default, triggers,
        types, arches, label, needs, libvirt, stage, yields, options, url,
    ) in RULES:  # fmt: skip
        key = (types, arches, label)
        if key not in domains:
            domains[key] = Domains(
                None if types is None else frozenset(types),
                None if arches is None else frozenset(arches),
                label,
            )
        fields: dict[str, Any] = dict(
            code=code,
            name=name,
            severity=Severity(severity),
            summary=summary,
            fix=None if fix is None else Applicability(fix),
            default=default,
            triggers=None if triggers is None else frozenset(triggers),
            domains=domains[key],
            needs=frozenset(HostPart[part] for part in needs),
            libvirt=libvirt,
            stage=Stage[stage],
            yields=yields,
            options=options,
            help_url=url,
        )
        if kind == "plan":
            found.append(
                PlanRule(
                    check=runs_on_plans_only,
                    plan_check=DeferredCheck(module, attribute, "plan_check"),
                    **fields,
                )
            )
        else:
            found.append(Rule(check=DeferredCheck(module, attribute), **fields))
    return tuple(found)


def builtin_rules() -> list[Rule]:
    """The built-in rules that check one document at a time."""
    return [r for r in _indexed() if not isinstance(r, PlanRule)]


def builtin_plan_rules() -> list[PlanRule]:
    """The built-in plan rules (every guest of a host at once)."""
    return [r for r in _indexed() if isinstance(r, PlanRule)]


@hookimpl
def domxml_lint_rules() -> list[Rule]:
    return builtin_rules()


@hookimpl
def domxml_lint_plan_rules() -> list[PlanRule]:
    return builtin_plan_rules()
