"""docs/libvirt-coverage.tsv: every rule it names exists and says it reproduces libvirt."""

from __future__ import annotations

import re
import sys

from domxml_lint.plugins import load_ruleset
from helpers import REPO

sys.path.insert(0, str(REPO / "tools"))
import libvirt_coverage as coverage  # noqa: E402

CODE = re.compile(r"^DX\d{3}$")


def test_every_row_is_well_formed_and_names_real_rules():
    rules = {r.code: r for r in load_ruleset(entry_points=False)}
    table = coverage.rows()
    assert len(table) == 1119
    for row in table:
        assert row["class"] in ("X", "C", "H", "R"), row
        assert row["area"] in coverage.AREAS, row
        for code in filter(None, row["rule"].split(",")):
            assert CODE.match(code), row
            assert code in rules, f"{row['function']} ({row['location']}) names unknown rule {code}"


def test_rules_that_reproduce_a_check_name_its_function():
    """A rule listed for a libvirt function says so in its own metadata (libvirt=)."""
    rules = {r.code: r for r in load_ruleset(entry_points=False)}
    missing = set()
    for row in coverage.rows():
        for code in filter(None, row["rule"].split(",")):
            if row["class"] == "X" and not rules[code].libvirt:
                missing.add(code)
    assert not missing, f"rules reproducing libvirt checks without libvirt=: {sorted(missing)}"
