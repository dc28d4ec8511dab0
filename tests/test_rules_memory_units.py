"""Memory rules across libvirt's units and NUMA layouts (sizes are read in one place: units.py)."""

from __future__ import annotations

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts
from domxml_lint.fixer import fix_document
from domxml_lint.units import to_kib
from samples import domain

GIB = 1024 * 1024


def guest(body: str, virt_type: str = "kvm") -> bytes:
    return domain(body, name="u", memory=None, vcpu=None, machine="pc-q35-8.2",
                  virt_type=virt_type).encode()  # fmt: skip


def findings(rule: str, data: bytes):
    doc = Document.parse(data, "u.xml")
    return build_linter(select=[rule]).check(doc).findings


# 8 GiB written in each unit libvirt accepts (b, KiB, MiB, GiB, KB, MB, and the default).
EIGHT_GIB = [
    ("b", str(8 * GIB * 1024)),
    ("bytes", str(8 * GIB * 1024)),
    ("KiB", str(8 * GIB)),
    (None, str(8 * GIB)),
    ("k", str(8 * GIB)),
    ("MiB", "8192"),
    ("M", "8192"),
    ("GiB", "8"),
    ("G", "8"),
    ("KB", str(8 * GIB * 1024 // 1000)),  # 8589934 KB: rounds up to exactly 8 GiB
    ("KB", "8589933"),  # one KB less: below 8 GiB
    ("MB", "8590"),  # a little over 8 GiB
    ("MB", "8589"),  # a little under 8 GiB
]


def _size(tag: str, unit: str | None, value: str) -> str:
    unit_attr = f" unit='{unit}'" if unit else ""
    return f"<{tag}{unit_attr}>{value}</{tag}>"


@pytest.mark.parametrize("unit,value", EIGHT_GIB)
def test_hard_limit_compared_across_units(unit, value):
    hard_limit = _size("hard_limit", unit, value)
    body = f"  <memory unit='GiB'>8</memory>\n  <memtune>{hard_limit}</memtune>\n"
    below = to_kib(value, unit) < 8 * GIB
    assert bool(findings("hard-limit-below-memory", guest(body))) == below


def test_kb_is_decimal_and_rounds_up_to_whole_kib():
    # 8589934 KB = 8589934000 bytes = 8388607.42 KiB, rounded up to 8388608 KiB = 8 GiB.
    assert to_kib("8589934", "KB") == 8 * GIB


@pytest.mark.parametrize("unit,value", EIGHT_GIB)
def test_current_memory_equal_in_any_unit_is_fine(unit, value):
    kib = to_kib(value, unit)
    body = f"  {_size('memory', 'KiB', str(8 * GIB))}\n  {_size('currentMemory', unit, value)}\n"
    assert bool(findings("current-memory-exceeds-memory", guest(body))) == (kib > 8 * GIB)


def test_current_memory_against_numa_cells_plus_memory_devices():
    # libvirt writes the cells' sum plus the DIMMs into <memory> on define.
    body = (
        "  <memory unit='GiB'>16</memory>\n"
        "  <currentMemory unit='GiB'>6</currentMemory>\n"
        "  <maxMemory slots='4' unit='GiB'>32</maxMemory>\n"
        "  <vcpu>2</vcpu>\n"
        "  <cpu><numa>\n"
        "    <cell id='0' cpus='0' memory='2' unit='GiB'/>\n"
        "    <cell id='1' cpus='1' memory='2048' unit='MiB'/>\n"
        "  </numa></cpu>\n"
        "  <devices><memory model='dimm'><target><size unit='GiB'>1</size><node>0</node>"
        "</target></memory></devices>\n"
    )
    doc = Document.parse(guest(body), "u.xml")
    assert DomainFacts(doc).memory_total_kib == 5 * GIB
    (finding,) = findings("current-memory-exceeds-memory", guest(body))
    assert "exceeds the guest's memory 5 GiB" in finding.message
    result = fix_document(doc, build_linter(select=["current-memory-exceeds-memory"]))
    assert b"<currentMemory unit='GiB'>5</currentMemory>" in result.data


def test_swap_hard_limit_equal_is_allowed_across_units():
    body = (
        "  <memory unit='GiB'>4</memory>\n"
        "  <memtune><hard_limit unit='GiB'>5</hard_limit>"
        "<swap_hard_limit unit='b'>5368709120</swap_hard_limit></memtune>\n"
    )
    assert not findings("swap-hard-limit-below-hard-limit", guest(body))
    # libvirt rounds bytes up to whole KiB: one byte less is still equal, one KiB less is not.
    assert not findings("swap-hard-limit-below-hard-limit", guest(body.replace("120<", "119<")))
    smaller = body.replace("5368709120", "5368708096")
    assert findings("swap-hard-limit-below-hard-limit", guest(smaller))


def test_unlimited_limits_are_not_compared_as_numbers():
    # libvirt caps limits at VIR_DOMAIN_MEMORY_PARAM_UNLIMITED; both unlimited are equal.
    body = (
        "  <memory unit='GiB'>4</memory>\n"
        "  <memtune><hard_limit>9007199254740991</hard_limit>"
        "<soft_limit unit='TiB'>9999999</soft_limit></memtune>\n"
    )
    assert not findings("soft-limit-above-hard-limit", guest(body))
    assert not findings("hard-limit-below-memory", guest(body))


@pytest.mark.parametrize(
    "memory,page,aligned",
    [
        ("<memory unit='GiB'>2</memory>", "<page size='2048'/>", True),
        ("<memory unit='b'>2147483648</memory>", "<page size='2' unit='M'/>", True),
        ("<memory unit='MB'>2000</memory>", "<page size='2' unit='MiB'/>", False),
        ("<memory unit='KiB'>1049600</memory>", "<page size='1' unit='GiB'/>", False),
        ("<memory unit='GiB'>1</memory>", "<page size='1073741824' unit='b'/>", True),
    ],
)
def test_hugepage_alignment_across_units(memory, page, aligned):
    body = f"  {memory}\n  <memoryBacking><hugepages>{page}</hugepages></memoryBacking>\n"
    assert (not findings("memory-not-hugepage-aligned", guest(body))) == aligned


def test_hugepage_round_up_keeps_the_unit_when_exact_else_uses_kib():
    linter = build_linter(select=["memory-not-hugepage-aligned"])
    exact = guest(
        "  <memory unit='MiB'>2047</memory>\n"
        "  <memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>\n"
    )
    fixed = fix_document(Document.parse(exact, "u.xml"), linter, unsafe=True).data
    assert b"<memory unit='MiB'>2048</memory>" in fixed
    inexact = guest(
        "  <memory unit='MB'>2000</memory>\n"
        "  <memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>\n"
    )
    fixed = fix_document(Document.parse(inexact, "u.xml"), linter, unsafe=True).data
    # 2000 MB = 1953125 KiB, rounded up to 954 pages of 2 MiB = 1953792 KiB (not whole MB).
    assert b"<memory unit='KiB'>1953792</memory>" in fixed
    assert not findings("memory-not-hugepage-aligned", fixed)


def test_smaller_than_one_page_is_an_error():
    body = (
        "  <memory unit='MiB'>512</memory>\n"
        "  <memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages></memoryBacking>\n"
    )
    (finding,) = findings("memory-not-hugepage-aligned", guest(body))
    assert finding.severity.value == "error"


def test_locked_fix_uses_the_guest_maximum_memory_in_kib():
    body = (
        "  <maxMemory slots='2' unit='GiB'>8</maxMemory>\n"
        "  <memory unit='MB'>3000</memory>\n"
        "  <memoryBacking><locked/></memoryBacking>\n"
        "  <vcpu>1</vcpu>\n"
        "  <cpu><numa><cell id='0' cpus='0' memory='3000' unit='MB'/></numa></cpu>\n"
    )
    doc = Document.parse(guest(body), "u.xml")
    result = fix_document(doc, build_linter(select=["locked-without-hard-limit"]), unsafe=True)
    assert f"<hard_limit unit='KiB'>{9 * GIB}</hard_limit>".encode() in result.data
    assert not findings("locked-without-hard-limit", result.data)
