"""The one cpuset/nodeset parser, against libvirt's virBitmapParse semantics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domxml_lint.cpuset import CPUMASK_LEN, CpusetError, format_cpuset, parse_cpuset


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0", {0}),
        ("0-3", {0, 1, 2, 3}),
        ("0-7,^5,10", {0, 1, 2, 3, 4, 6, 7, 10}),
        (" 1 , 3 - 4 ", {1, 3, 4}),
        ("0-3,", {0, 1, 2, 3}),
        ("^2,0-3", {0, 1, 2, 3}),  # exclusions apply in order
        ("0-3,^2,2", {0, 1, 2, 3}),
        ("16383", {16383}),
    ],
)
def test_valid(text, expected):
    assert parse_cpuset(text) == frozenset(expected)


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a", "cannot parse"),
        ("1-", "cannot parse"),
        ("3-1", "ends before"),
        ("0,,1", "cannot parse"),
        ("^ 1", "cannot parse"),
        ("0-3,^0-3", "cannot be a range"),
        ("0,^0", "leaves no ids"),
        ("16384", "limit"),
        ("-1", "cannot parse"),
        ("1.5", "cannot parse"),
    ],
)
def test_invalid(text, reason):
    with pytest.raises(CpusetError, match=reason):
        parse_cpuset(text)


@given(st.sets(st.integers(0, CPUMASK_LEN - 1), min_size=1, max_size=64))
def test_format_round_trips(ids):
    assert parse_cpuset(format_cpuset(ids)) == frozenset(ids)


def test_format_is_compact():
    assert format_cpuset({0, 1, 2, 3, 8, 10, 11}) == "0-3,8,10-11"
