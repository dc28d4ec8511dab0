"""ruff-style rule selection: ALL, codes, prefixes, names; opt-in rules; specificity."""

from __future__ import annotations

import pytest

from domxml_lint.errors import UsageError
from domxml_lint.plugins import load_ruleset
from domxml_lint.rule import rule
from domxml_lint.ruleset import RuleSet


def _make(code: str, name: str, default: bool = True):
    @rule(code=code, name=name, severity="info", summary="t", default=default)
    def check(ctx):
        """t"""
        return []

    return check


RULES = RuleSet(
    [
        _make("DX401", "alpha"),
        _make("DX402", "beta", default=False),
        _make("DX501", "gamma"),
        _make("DX101", "delta", default=False),
    ]
)


def codes(rules):
    return [r.code for r in rules]


def test_default_excludes_opt_in():
    assert codes(RULES.select()) == ["DX401", "DX501"]


def test_all_and_prefix_include_opt_in():
    assert codes(RULES.select(select=["ALL"])) == ["DX101", "DX401", "DX402", "DX501"]
    assert codes(RULES.select(select=["DX4"])) == ["DX401", "DX402"]


def test_names_and_codes_case_insensitively():
    assert codes(RULES.select(select=["beta", "dx501"])) == ["DX402", "DX501"]


def test_extend_select_adds_to_default():
    assert codes(RULES.select(extend_select=["beta"])) == ["DX401", "DX402", "DX501"]


def test_more_specific_wins():
    assert codes(RULES.select(select=["DX4"], ignore=["DX402"])) == ["DX401"]
    assert codes(RULES.select(select=["DX402"], ignore=["DX4"])) == ["DX402"]
    assert codes(RULES.select(select=["DX401"], ignore=["DX401"])) == []
    assert codes(RULES.select(ignore=["alpha"])) == ["DX501"]


def test_unknown_selector_suggests():
    with pytest.raises(UsageError, match="did you mean 'alpha'"):
        RULES.select(select=["alpah"])
    with pytest.raises(UsageError, match="unknown rule selector 'DX9'"):
        RULES.select(ignore=["DX9"])


def test_duplicate_rules_are_refused():
    with pytest.raises(UsageError, match="two rules claim 'DX401'"):
        RuleSet([_make("DX401", "a"), _make("DX401", "b")])


def test_builtin_codes_follow_area_ranges():
    for item in load_ruleset(entry_points=False):
        assert item.code.startswith("DX") and item.code[2:].isdigit() and len(item.code) == 5


def test_layers_stack_like_config_then_command_line():
    from domxml_lint.ruleset import Selection

    config = Selection(select=["DX4"], ignore=["alpha"])
    # a later layer without select adjusts what the config chose
    assert codes(RULES.select_layers([config, Selection(extend_select=["DX5"])])) == [
        "DX402",
        "DX501",
    ]
    assert codes(RULES.select_layers([config, Selection(ignore=["DX402"])])) == []
    # a later select replaces the config's choice entirely, ignores included
    assert codes(RULES.select_layers([config, Selection(select=["alpha", "DX1"])])) == [
        "DX101",
        "DX401",
    ]
    # an ignore in a later layer beats an earlier, more specific select
    layers = [Selection(select=["DX402"]), Selection(ignore=["DX4"])]
    assert codes(RULES.select_layers(layers)) == []


def test_layers_validate_every_selector():
    from domxml_lint.ruleset import Selection

    with pytest.raises(UsageError, match="did you mean 'gamma'"):
        RULES.select_layers([Selection(), Selection(extend_select=["gama"])])
