"""The RHEL 7 tuning guide, piece by piece, against today's rules: docs/guide-coverage.md.

    python tools/guide_coverage.py            # rewrite docs/guide-coverage.md from the table
    python tools/guide_coverage.py --check    # exit 1 if it is out of date

docs/guide-coverage.tsv has one row per piece of the guide's advice (110, as
``../shared/docs/guide-coverage.md`` first read them): its number, section,
the advice, its class (A: the domain XML alone; B: plus libvirt's host
documents; C: plus the host's system facts; D: not lintable), the rule codes
that judge it, a status (``covered``, ``partial``, ``not judged``, ``-`` for
D) and a note (what the rules do, or why a piece is not judged). The page is
rendered from it and from the rules themselves (names, severities, opt-in).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "guide-coverage.tsv"
PAGE = ROOT / "docs" / "guide-coverage.md"
STATUSES = ("covered", "partial", "not judged", "-")
CLASSES = {
    "A": "the domain XML alone",
    "B": "plus libvirt's host documents: capabilities, domain capabilities, node devices",
    "C": "plus the host's system facts, as `domxml-lint host facts` reads them",
    "D": "not lintable (procedure, monitoring, inside the guest)",
}


def rows(path: Path = TABLE) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def problems(table: list[dict[str, str]], rules: dict) -> list[str]:
    """What is wrong with the table: unknown codes, statuses, rows without a reason."""
    found = []
    for row in table:
        where = f"row {row['number']} ({row['section']})"
        if row["class"] not in CLASSES or row["status"] not in STATUSES:
            found.append(f"{where}: class {row['class']!r} or status {row['status']!r}")
        for code in filter(None, row["rules"].split(",")):
            if code not in rules:
                found.append(f"{where}: unknown rule {code}")
        if row["class"] != "D" and row["status"] == "-":
            found.append(f"{where}: a lintable piece needs a status")
        if row["status"] in ("partial", "not judged") and not row["note"]:
            found.append(f"{where}: {row['status']} needs a note saying why")
        if row["status"] == "covered" and not row["rules"]:
            found.append(f"{where}: covered by no rule")
    return found


def _rule_cell(codes: str, rules: dict) -> str:
    parts = []
    for code in filter(None, codes.split(",")):
        item = rules[code]
        extra = [] if item.default else ["opt-in"]
        if item.stage.value == "plan":
            extra.append("plan")
        suffix = f" ({', '.join(extra)})" if extra else ""
        parts.append(f"[{code}](../rules/{code}-{item.name}.md) {item.name}{suffix}")
    return ", ".join(parts) or "-"


def render(table: list[dict[str, str]], rules: dict) -> str:
    from domxml_lint.docs import markdown_inline  # <tag> as code, as the rule pages do

    tally = Counter((row["class"], row["status"]) for row in table)
    per_class = Counter(row["class"] for row in table)
    used = {code for row in table for code in row["rules"].split(",") if code}

    def line(cls: str) -> str:
        counts = ", ".join(
            f"{status} {tally[(cls, status)]}" for status in STATUSES[:3] if tally[(cls, status)]
        )
        return f"- **{cls}** ({CLASSES[cls]}): {per_class[cls]} pieces: {counts}."

    lines = [
        "# The RHEL 7 Virtualization Tuning and Optimization Guide against domxml-lint's rules",
        "",
        "<!-- Generated from docs/guide-coverage.tsv by `python tools/guide_coverage.py`; "
        "edit the table, not this page. -->",
        "",
        "Guide: `../shared/seed/000_22d03f663bd7c56a.txt` (Chinese, revision 1.0-35, 7.7 Beta,",
        "2019), sections cited by their English titles and numbers. The first reading of it,",
        "at 99 rules, is `../shared/docs/guide-coverage.md`; this page is its table redone",
        "with today's rules: the guide's host chapters (class C) through the host's system",
        "facts, the sums over every guest of a host through plan rules, and the missing XML",
        "advice through new rules.",
        "",
        "## Summary",
        "",
        f"{len(table)} pieces of advice; {len(used)} rules judge some of them.",
        "",
        *(line(cls) for cls in "ABC"),
        f"- **D**: {per_class['D']} pieces.",
        "",
        "*covered*: a rule reports the advice not being followed (the note says how far);",
        "*partial*: some of it, the note says what is not judged and why; *not judged*: the",
        "note says why no rule can say something true about it from the files and the",
        "snapshot. Rules marked *plan* look at every guest of a host together; *opt-in* rules",
        "run only when selected.",
        "",
        "## The table",
        "",
        "| # | Section | Advice | Class | Rules | Status | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            f"| {row['number']} | {row['section']} | {markdown_inline(row['advice'])} | "
            f"{row['class']} | {_rule_cell(row['rules'], rules)} | {row['status']} | "
            f"{markdown_inline(row['note'])} |"
        )
    lines += [
        "",
        "## Not judged, or judged in part",
        "",
    ]
    for row in table:
        if row["status"] in ("partial", "not judged"):
            lines.append(
                f"- **{row['number']}** ({row['section']}, {row['class']}, {row['status']}): "
                f"{markdown_inline(row['advice'])}. {markdown_inline(row['note'])}"
            )
    lines += [
        "",
        "## What changed since the first reading",
        "",
        "- The 26 class C pieces were out of reach: the snapshot now records the host's",
        '  system facts, and rules read them (README, "System facts").',
        "- The guide's sums over every guest of a host (3.2.1 vCPUs, 8.2.3.2 huge pages,",
        '  8.3 memory and swap, 9.1 strict bindings) are plan rules (README, "The whole host").',
        "- The citations the first reading found wrong are fixed: DX144 (8.3 is KSM; the guide",
        "  does not cover cputune shares), DX340 (huge pages are 8.2.3, not 8.3.3), DX643 and",
        "  DX842 (timers and migration are in the Deployment and Administration Guide, not",
        "  chapters 8 and 6).",
        "- `fixtures/xml/examples/guide-tuned.xml` has four sockets of one core each (3.2.3),",
        "  and no finding on a host set up as the guide says (`epyc-2node.xml` with",
        "  `facts-guide.xml`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from domxml_lint.plugins import load_ruleset

    rules = {r.code: r for r in load_ruleset(entry_points=False)}
    table = rows()
    wrong = problems(table, rules)
    for problem in wrong:
        print(f"docs/guide-coverage.tsv: {problem}", file=sys.stderr)
    if wrong:
        return 2
    page = render(table, rules)
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print("docs/guide-coverage.md is out of date: run python tools/guide_coverage.py")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
