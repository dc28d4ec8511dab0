"""The pluggy hook specifications: the whole plugin interface of domxml-lint.

Built-in rules register through the same hook as third-party ones. A
third-party package exposes a module (or object) implementing the hook under
the entry-point group ``domxml_lint``::

    [project.entry-points.domxml_lint]
    my_rules = "my_package.rules"

and in ``my_package/rules.py``::

    from domxml_lint import hookimpl, rule

    @rule(code="ACME001", name="acme-needs-description", severity="warning",
          summary="Every guest needs a <description>")
    def needs_description(ctx): ...

    @hookimpl
    def domxml_lint_rules():
        return [needs_description]

Rules over every guest of a host at once (plan rules, :mod:`domxml_lint.planrules`)
come from a hook of their own, ``domxml_lint_plan_rules``, declared with
``@domxml_lint.plan_rule``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .planrules import PlanRule
    from .rule import Rule

PROJECT = "domxml_lint"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def domxml_lint_rules() -> Iterable[Rule]:
    """Return the rules this plugin provides (called once per process)."""
    raise NotImplementedError


@hookspec
def domxml_lint_plan_rules() -> Iterable[PlanRule]:
    """Return the plan rules this plugin provides: rules that see every guest of a host
    at once (made with ``@domxml_lint.plan_rule``; called once per process)."""
    raise NotImplementedError
