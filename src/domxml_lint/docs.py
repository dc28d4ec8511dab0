"""The rule reference: one Markdown page per rule and an index, generated from the rules.

``domxml-lint rules --write-docs rules/`` writes them; ``--check-docs`` reports
stale pages. ``domxml-lint rule CODE`` prints the same page. Only built-in
rules are documented in rules/, so an installed plugin never changes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from .families import FAMILIES
from .references import rule_references
from .rule import ANY_DOMAIN, Rule, Stage

GENERATED_NOTE = (
    "<!-- Generated from the rule's docstring by `domxml-lint rules --write-docs rules/`; "
    "do not edit. -->"
)
INDEX = "README.md"
PAGE_PATTERN = re.compile(r"^[A-Z]{1,8}[0-9]{1,4}-[a-z0-9-]+\.md$")


def page_name(rule: Rule) -> str:
    return f"{rule.code}-{rule.name}.md"


def fix_text(rule: Rule) -> str:
    if rule.fix is None:
        return "none"
    if rule.fix.value == "safe":
        return "safe: applied by `--fix`"
    return "unsafe: applied by `--fix --unsafe-fixes` (review it)"


def default_text(rule: Rule) -> str:
    if rule.default:
        return "yes"
    return (
        f"no, opt-in: enable it with `--extend-select {rule.code}` or "
        f'`extend-select = ["{rule.code}"]`'
    )


def host_text(rule: Rule) -> str:
    if not rule.needs:
        return "no"
    parts = sorted(part.value for part in rule.needs)
    return (
        "yes: runs only with a host snapshot (`--host FILE` or `host =` in the config) "
        "that has " + " and ".join(parts)
    )


def render_rule_page(rule: Rule) -> str:
    """The rule's page: title, summary, a metadata table, then its documentation."""
    lines = [
        f"# {rule.name} ({rule.code})",
        "",
        markdown_inline(rule.summary),
        "",
        "| | |",
        "|---|---|",
        f"| Code | `{rule.code}` |",
        f"| Name | `{rule.name}` |",
        f"| Severity | {rule.severity.value} |",
        f"| Enabled by default | {default_text(rule)} |",
        f"| Needs a host snapshot | {host_text(rule)} |",
        f"| Fix | {fix_text(rule)} |",
    ]
    if rule.stage is Stage.PLAN:
        lines.append(
            "| Checks | every guest of one host together: a plan rule (see the README's "
            '"The whole host") |'
        )
    if rule.domains != ANY_DOMAIN:
        lines.append(f"| Applies to | {markdown_inline(rule.domains.label)} |")
    if rule.triggers:
        elements = ", ".join(f"`<{t}>`" for t in sorted(rule.triggers))
        if len(rule.triggers) > 1:
            elements = "any of " + elements
        lines.append(f"| Runs on documents with | {elements} |")
    if rule.libvirt:
        functions = ", ".join(f"`{name}`" for name in rule.libvirt)
        lines.append(f"| Reproduces libvirt's | {functions} |")
    if rule.origin != "domxml_lint":
        lines.append(f"| Plugin | `{rule.origin}` |")
    lines.append(f"| Defined in | `{rule.source_file}` |")
    lines.append("")
    body = rule.doc.strip()
    if body:
        lines += [_demote_headings(body), ""]
    if rule.options:
        lines += _options_section(rule)
    references = rule_references(rule)
    if references:
        lines += ["## References", ""]
        lines += [f"- [{markdown_inline(r.title)}]({r.url})" for r in references]
        lines.append("")
    lines += [
        "## Suppress it",
        "",
        "```xml",
        f"<!-- domxml-lint: disable={rule.code} -->   <!-- the next element and its children -->",
        f"<!-- domxml-lint: disable-file={rule.code} -->   <!-- the whole file -->",
        "```",
        "",
        f'or `ignore = ["{rule.code}"]` in the configuration.',
        "",
    ]
    return "\n".join(lines)


def _demote_headings(body: str) -> str:
    # Docstrings use "## Section"; make sure nothing deeper than the title uses "#".
    return re.sub(r"^# ", "## ", body, flags=re.M)


def _options_section(rule: Rule) -> list[str]:
    lines = ["## Options", "", "| Option | Default |", "|---|---|"]
    for key, value in sorted(rule.options.items()):
        lines.append(f"| `{key}` | `{_toml(value)}` |")
    example_key, example_value = sorted(rule.options.items())[0]
    lines += [
        "",
        "```toml",
        f"[tool.domxml-lint.rule-options.{rule.name}]   # in pyproject.toml",
        f"{example_key} = {_toml(example_value)}",
        "```",
        "",
    ]
    return lines


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def render_index(rules: Sequence[Rule]) -> str:
    lines = [
        "# Rule reference",
        "",
        GENERATED_NOTE,
        "",
        "Every built-in rule, by code. A finding ends with the rule's name, e.g.",
        "`DX401 ... (disk-cache-unsafe)`: its page explains why it fired and what to write",
        "instead.",
        "`domxml-lint rule DX401` prints the same page in a terminal.",
        "",
        "Columns: **Fix**: `safe` (applied by `--fix`), `unsafe` (needs `--unsafe-fixes` too) or",
        "none; **Default**: enabled without `--select`, or *opt-in*; **Host**: needs a host",
        "snapshot (`--host`), otherwise it is skipped and the summary says so; *plan*: a plan",
        "rule, which checks every guest of one host together.",
        "",
    ]
    by_family: dict[str, list[Rule]] = {}
    for item in sorted(rules, key=lambda r: r.code):
        by_family.setdefault(item.code[:3], []).append(item)
    titles = {family.prefix: family.title for family in FAMILIES}
    for prefix, members in sorted(by_family.items()):
        lines += [
            f"## {prefix}xx: {markdown_inline(titles.get(prefix, 'Other'))}",
            "",
            "| Code | Name | Severity | Fix | Default | Host | Summary |",
            "|---|---|---|---|---|---|---|",
        ]
        for item in members:
            lines.append(
                f"| {item.code} | [{item.name}]({page_name(item)}) | {item.severity.value} | "
                f"{item.fix.value if item.fix else ''} | {'yes' if item.default else 'opt-in'} | "
                f"{_host_column(item)} | {_cell(item.summary)} |"
            )
        lines.append("")
    lines.append(f"{len(rules)} rules.")
    lines.append("")
    return "\n".join(lines)


def _host_column(item: Rule) -> str:
    if item.stage is Stage.PLAN:
        return "plan"
    return "yes" if item.needs_host else ""


def _cell(text: str) -> str:
    return markdown_inline(text).replace("|", "\\|").replace("\n", " ")


def markdown_inline(text: str) -> str:
    """Plain text for Markdown: ``<tag>`` becomes code, so renderers do not swallow it."""
    return re.sub(r"(?<!`)(<[^<>`\n]+>)(?!`)", r"`\1`", text)


def expected_pages(rules: Iterable[Rule]) -> dict[str, str]:
    """File name -> content of every page in rules/."""
    rules = sorted(rules, key=lambda r: r.code)
    pages = {page_name(r): _with_note(render_rule_page(r)) for r in rules}
    pages[INDEX] = render_index(rules)
    return pages


def _with_note(page: str) -> str:
    return page + "\n" + GENERATED_NOTE + "\n"


def builtin_rules() -> list[Rule]:
    from .plugins import load_ruleset

    return [r for r in load_ruleset(entry_points=False) if r.origin == "domxml_lint"]


def stale_pages(directory: str, rules: Iterable[Rule] | None = None) -> list[str]:
    """Pages that are missing, differ, or document no current rule."""
    expected = expected_pages(builtin_rules() if rules is None else rules)
    stale = []
    for name, content in expected.items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                if handle.read() != content:
                    stale.append(name)
        except FileNotFoundError:
            stale.append(name)
    if os.path.isdir(directory):
        stale += sorted(
            name
            for name in os.listdir(directory)
            if PAGE_PATTERN.match(name) and name not in expected
        )
    return sorted(stale)


def write_pages(directory: str, rules: Iterable[Rule] | None = None) -> list[str]:
    """Write every page that changed, delete pages of rules that are gone; return the names."""
    rules = builtin_rules() if rules is None else list(rules)
    expected = expected_pages(rules)
    os.makedirs(directory, exist_ok=True)
    changed = stale_pages(directory, rules)
    for name in changed:
        path = os.path.join(directory, name)
        if name in expected:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(expected[name])
        else:
            os.unlink(path)
    return changed


def plain_text(markdown: str) -> str:
    """Markdown as readable plain text (SARIF ``text`` fields): no heading marks or fences."""
    text = re.sub(r"^#+ ", "", markdown, flags=re.M)
    text = re.sub(r"^```\w*\n?", "", text, flags=re.M)
    return text.strip()
