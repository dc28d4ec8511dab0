"""Loading rules through pluggy: built-ins first, then entry-point plugins.

Plugins are found through the entry-point group ``domxml_lint``, as
``importlib.metadata`` defines it. Importing ``importlib.metadata`` costs more
than the rest of a one-file run (it pulls in email, zipfile, csv...), so the
common case, plain directories on ``sys.path``, is read directly:
``*.dist-info/entry_points.txt`` and ``*.egg-info/entry_points.txt``, first
distribution of a name wins, as in ``importlib.metadata``. Any other kind of
``sys.path`` entry (a zip, an egg) falls back to ``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from functools import lru_cache

import pluggy

from . import hookspecs
from .errors import UsageError
from .rule import Rule
from .ruleset import RuleSet

ENTRY_POINT_GROUP = "domxml_lint"

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ENTRY = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(\S+)\s*$")


def entry_points(group: str = ENTRY_POINT_GROUP) -> list[tuple[str, str, str]]:
    """(distribution, name, value) of every entry point in ``group``, in sys.path order."""
    if any(entry and not os.path.isdir(entry) and os.path.exists(entry) for entry in sys.path):
        return _entry_points_via_metadata(group)
    seen: set[str] = set()
    found: list[tuple[str, str, str]] = []
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = _normalize(name.rsplit(".", 1)[0].split("-")[0])
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(
                    os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8"
                ) as f:
                    text = f.read()
            except OSError:
                continue
            found += [(distribution, ep, value) for ep, value in _parse_group(text, group)]
    return found


def _entry_points_via_metadata(group: str) -> list[tuple[str, str, str]]:
    from importlib.metadata import entry_points as metadata_entry_points

    return [
        (_normalize(ep.dist.name if ep.dist else "?"), ep.name, ep.value)
        for ep in metadata_entry_points(group=group)
    ]


def _parse_group(text: str, group: str) -> list[tuple[str, str]]:
    current = None
    result = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        section = _SECTION.match(line)
        if section:
            current = section.group(1).strip()
            continue
        if current == group:
            entry = _ENTRY.match(line)
            if entry:
                result.append((entry.group(1), entry.group(2)))
    return result


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _load(value: str) -> object:
    module_name, _, attribute = value.partition(":")
    target: object = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target


def plugin_manager(*, entry_points_enabled: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the built-in rules and, by default, installed plugins."""
    from . import rules as builtin_rules

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin_rules, name="domxml_lint.rules")
    if entry_points_enabled:
        for distribution, name, value in entry_points():
            if manager.get_plugin(name) is not None or manager.is_blocked(name):
                continue
            try:
                plugin = _load(value)
            except Exception as exc:  # a broken plugin must say which one
                raise UsageError(
                    f"cannot load a domxml_lint plugin: entry point {name!r} = {value!r} from "
                    f"{distribution}: {type(exc).__name__}: {exc}"
                ) from exc
            manager.register(plugin, name=name)
    manager.check_pending()
    return manager


@lru_cache(maxsize=2)
def load_ruleset(*, entry_points: bool = True) -> RuleSet:
    """Every rule from every registered plugin, validated (cached per process)."""
    manager = plugin_manager(entry_points_enabled=entry_points)
    from .planrules import PlanRule

    collected: list[Rule] = []
    for provided in manager.hook.domxml_lint_rules():
        for item in provided:
            if not isinstance(item, Rule) or isinstance(item, PlanRule):
                raise UsageError(
                    f"plugin returned {item!r} from domxml_lint_rules(); expected Rule objects "
                    "made with @domxml_lint.rule (plan rules go to domxml_lint_plan_rules())"
                )
            collected.append(item)
    for provided in manager.hook.domxml_lint_plan_rules():
        for item in provided:
            if not isinstance(item, PlanRule):
                raise UsageError(
                    f"plugin returned {item!r} from domxml_lint_plan_rules(); expected plan "
                    "rules made with @domxml_lint.plan_rule"
                )
            collected.append(item)
    return RuleSet(collected)
