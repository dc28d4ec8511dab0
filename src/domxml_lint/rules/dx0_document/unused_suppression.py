"""DX001: suppression comments that suppress nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ...findings import Edit, Finding, Fix
from ...rule import RuleContext, Stage, rule
from ...suppression import Suppression, UnusedSelector


@rule(
    code="DX001",
    name="unused-suppression",
    severity="warning",
    summary="A suppression comment that suppresses nothing",
    fix="safe",
    stage=Stage.SUPPRESSIONS,
)
def unused_suppression(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports `<!-- domxml-lint: disable=... -->` comments, or single rules named in
    them, that suppress no finding: the rule never fires on that element, the
    rule does not exist, no element follows the comment, or the comment cannot
    be read.

    ## Why is this bad?
    A stale suppression hides the next real finding of that rule on the same
    element, and misleads readers into thinking there is a known problem. This
    is ruff's RUF100 for XML.

    A suppression naming a rule that did not run (not selected, or needing a
    host snapshot that was not given) is not reported: it cannot be judged.

    ## Example
    ```xml
    <!-- domxml-lint: disable=DX401 -->
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
    ```

    ## Fix safety
    Safe: comments do not change what libvirt defines. The fix removes the
    unused rules from the comment's list, keeping the reason and every other
    byte, or the whole comment (with its line) when none of its rules is used.
    A misspelt rule (reported with a did-you-mean), rules separated by spaces
    instead of commas, and comments that cannot be read get no fix: deleting
    them would lose what their author meant.

    ## Source
    domxml-lint's suppression comments; modelled on ruff's RUF100
    (https://docs.astral.sh/ruff/rules/unused-noqa/).
    """
    by_comment = defaultdict(list)
    for unused in ctx.unused_suppressions:
        by_comment[unused.suppression].append(unused)
    for suppression, items in by_comment.items():
        fix = _fix(ctx, suppression, items)
        for unused in items:
            label = f"`{unused.selector}`: " if unused.selector else ""
            yield ctx.finding_at(
                suppression.start,
                suppression.end,
                f"unused suppression: {label}{unused.reason}",
                path="comment()",
                fix=fix if unused.removable else None,
            )


def _fix(ctx: RuleContext, suppression: Suppression, items: list[UnusedSelector]) -> Fix | None:
    """Drop the removable rules from the list, or the comment once nothing is left.

    A comment with a problem only a person can settle (a misspelt rule, a rule
    read as the reason) is never deleted: it still says what its author meant.
    """
    removable = {u.selector for u in items if u.removable}
    if not removable:
        return None
    kept = [s for s in suppression.selectors if s not in removable]
    if not kept:
        if any(not u.removable for u in items):
            return None
        return ctx.safe_fix(
            "Remove the suppression comment",
            ctx.edit.remove_span(suppression.start, suppression.end),
        )
    if suppression.selectors_end == 0:
        return None  # the rule list's bytes could not be located
    edit = Edit(suppression.selectors_start, suppression.selectors_end, ",".join(kept))
    return ctx.safe_fix(f"Remove {', '.join(sorted(removable))} from the comment", edit)
