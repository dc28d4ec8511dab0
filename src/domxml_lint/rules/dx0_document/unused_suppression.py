"""DX001: suppression comments that suppress nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ...findings import Edit, Finding
from ...rule import RuleContext, Stage, rule


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
    unused rules from the comment, or the whole comment (with its line) when
    none of its rules is used.

    ## Source
    domxml-lint's suppression comments; modelled on ruff's RUF100
    (https://docs.astral.sh/ruff/rules/unused-noqa/).
    """
    by_comment = defaultdict(list)
    for unused in ctx.unused_suppressions:
        by_comment[unused.suppression].append(unused)
    for suppression, items in by_comment.items():
        unused_selectors = {u.selector for u in items}
        kept = [s for s in suppression.selectors if s not in unused_selectors]
        if kept and not suppression.malformed:
            kind = "disable-file" if suppression.file_wide else "disable"
            title = f"Remove {', '.join(sorted(unused_selectors))} from the comment"
            edit = Edit(
                suppression.start,
                suppression.end,
                f"<!-- domxml-lint: {kind}={','.join(kept)} -->",
            )
        else:
            title = "Remove the suppression comment"
            edit = ctx.edit.remove_span(suppression.start, suppression.end)
        fix = ctx.safe_fix(title, edit)
        for unused in items:
            label = f"`{unused.selector}`: " if unused.selector else ""
            yield ctx.finding_at(
                suppression.start,
                suppression.end,
                f"unused suppression: {label}{unused.reason}",
                path="comment()",
                fix=fix,
            )
