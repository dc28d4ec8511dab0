"""libvirt's scaled integers, as virScaleInteger reads them."""

from __future__ import annotations

import pytest

from domxml_lint.units import UnitError, express_kib, format_kib, to_kib, unit_scale


@pytest.mark.parametrize(
    "unit,scale",
    [
        (None, 1024),
        ("", 1024),
        ("b", 1),
        ("bytes", 1),
        ("BYTE", 1),
        ("k", 1024),
        ("KiB", 1024),
        ("kib", 1024),
        ("KB", 1000),
        ("kb", 1000),
        ("M", 1024**2),
        ("MiB", 1024**2),
        ("MB", 1000**2),
        ("G", 1024**3),
        ("GiB", 1024**3),
        ("GB", 1000**3),
        ("T", 1024**4),
        ("TB", 1000**4),
        ("PiB", 1024**5),
        ("E", 1024**6),
    ],
)
def test_unit_scale(unit, scale):
    assert unit_scale(unit) == scale


@pytest.mark.parametrize("unit", ["x", "KiBB", "Mi", "kilobytes"])
def test_unknown_unit(unit):
    with pytest.raises(UnitError):
        unit_scale(unit)


def test_to_kib_rounds_up_like_libvirt():
    assert to_kib("4", "GiB") == 4 * 1024 * 1024
    assert to_kib("1", "b") == 1
    assert to_kib("1025", "bytes") == 2
    assert to_kib("1000", "KB") == 977
    assert to_kib("524288", None) == 524288
    assert to_kib(" 12 ", "MiB") == 12 * 1024
    assert to_kib("abc", None) is None
    assert to_kib("-1", None) is None
    assert to_kib("1", "furlongs") is None


def test_format_and_express():
    assert format_kib(4 * 1024 * 1024) == "4 GiB"
    assert format_kib(1536 * 1024) == "1536 MiB"
    assert format_kib(100) == "100 KiB"
    assert express_kib(2 * 1024 * 1024, "GiB") == "2"
    assert express_kib(1536, "MiB") is None  # 1.5 MiB: not expressible as an integer
    assert express_kib(1536, "KiB") == "1536"
