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
from ..rule import Rule


def builtin_rules() -> list[Rule]:
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
                if isinstance(value, Rule) and value.check.__module__ == module.__name__
            )
    return found


@hookimpl
def domxml_lint_rules() -> list[Rule]:
    return builtin_rules()
