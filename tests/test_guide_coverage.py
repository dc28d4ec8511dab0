"""docs/guide-coverage.md: the guide's advice against the rules, generated and complete."""

from __future__ import annotations

import sys
from collections import Counter

from domxml_lint.plugins import load_ruleset
from helpers import REPO

sys.path.insert(0, str(REPO / "tools"))
import guide_coverage  # noqa: E402


def test_the_table_names_real_rules_and_gives_reasons():
    rules = {r.code: r for r in load_ruleset(entry_points=False)}
    table = guide_coverage.rows()
    assert len(table) == 110
    assert [int(row["number"]) for row in table] == list(range(1, 111))
    assert guide_coverage.problems(table, rules) == []


def test_every_xml_and_snapshot_piece_is_judged_or_says_why_and_most_host_pieces_are_covered():
    table = guide_coverage.rows()
    classes = Counter(row["class"] for row in table)
    assert (classes["A"], classes["B"], classes["C"]) == (44, 14, 26)
    for row in table:
        if row["class"] in "AB":
            assert row["status"] in ("covered", "partial", "not judged"), row
            assert row["rules"] or row["note"], row
    covered_host = [r for r in table if r["class"] == "C" and r["status"] == "covered"]
    assert len(covered_host) >= 22


def test_the_page_is_up_to_date(capsys):
    assert guide_coverage.main(["--check"]) == 0, capsys.readouterr().out
