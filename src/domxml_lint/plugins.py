"""Loading rules through pluggy: built-ins first, then entry-point plugins."""

from __future__ import annotations

from functools import lru_cache

import pluggy

from . import hookspecs
from .errors import UsageError
from .rule import Rule
from .ruleset import RuleSet

ENTRY_POINT_GROUP = "domxml_lint"


def plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the built-in rules and, by default, installed plugins."""
    from . import rules as builtin_rules

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin_rules, name="domxml_lint.rules")
    if entry_points:
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken plugin must say which one
            raise UsageError(f"cannot load a domxml_lint plugin: {type(exc).__name__}: {exc}") from exc
    manager.check_pending()
    return manager


@lru_cache(maxsize=2)
def load_ruleset(*, entry_points: bool = True) -> RuleSet:
    """Every rule from every registered plugin, validated (cached per process)."""
    manager = plugin_manager(entry_points=entry_points)
    collected: list[Rule] = []
    for provided in manager.hook.domxml_lint_rules():
        for item in provided:
            if not isinstance(item, Rule):
                raise UsageError(
                    f"plugin returned {item!r} from domxml_lint_rules(); expected Rule objects "
                    "made with @domxml_lint.rule"
                )
            collected.append(item)
    return RuleSet(collected)
