"""The CPU, pinning and guest NUMA facts the DX1xx/DX2xx rules share."""

from __future__ import annotations

import pytest

from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts


def facts_of(body: str, vcpu: str = "<vcpu>4</vcpu>", virt: str = "kvm") -> DomainFacts:
    xml = f"<domain type='{virt}'><name>t</name><memory>1048576</memory>{vcpu}{body}</domain>"
    return DomainFacts(Document.parse(xml.encode()))


@pytest.mark.parametrize(
    "topology,expected",
    [
        # sockets=2 cores=2 threads=1: vCPUs 0-1 are socket 0 (threads first, then cores)
        ("sockets='2' cores='2' threads='1'", [0, 0, 1, 1]),
        ("sockets='2' cores='1' threads='2'", [0, 0, 1, 1]),
        ("sockets='4' cores='1' threads='1'", [0, 1, 2, 3]),
        # dies and clusters sit between cores and sockets
        ("sockets='2' dies='2' cores='1' threads='1'", [0, 0, 1, 1]),
        ("sockets='2' clusters='2' cores='1' threads='1'", [0, 0, 1, 1]),
        ("sockets='1' dies='2' cores='2' threads='1'", [0, 0, 0, 0]),
    ],
)
def test_socket_of_follows_qemu_numbering(topology, expected):
    facts = facts_of(f"<cpu><topology {topology}/></cpu>")
    assert [facts.cpu.topology.socket_of(v) for v in range(4)] == expected


@pytest.mark.parametrize("topology", ["cores='2' threads='1'", "sockets='0' cores='2' threads='2'"])
def test_incomplete_topology_has_no_socket_size(topology):
    facts = facts_of(f"<cpu><topology {topology}/></cpu>")
    assert facts.cpu.topology.vcpus_per_socket is None
    assert facts.cpu.topology.socket_of(0) is None


def test_guest_numa_uses_positions_for_missing_ids_and_lists_uncovered_vcpus():
    numa = facts_of(
        "<cpu><numa><cell cpus='0' memory='1'/><cell cpus='2' memory='1'/></numa></cpu>"
    ).guest_numa
    assert numa.ids == (0, 1)
    assert numa.cell_of_vcpu == {0: 0, 2: 1}
    assert numa.uncovered == {1, 3}
    assert numa.valid


def test_guest_numa_reports_duplicates_overlaps_and_out_of_range():
    numa = facts_of(
        "<cpu><numa><cell id='0' cpus='0-2' memory='1'/><cell id='0' cpus='2-5' memory='1'/>"
        "</numa></cpu>"
    ).guest_numa
    assert numa.duplicate_ids == (1,)
    assert numa.overlaps == ((0, 1, frozenset({2})),)
    assert numa.cpu_total == 7
    assert numa.highest_vcpu == 5
    assert not numa.valid


def test_guest_numa_is_invalid_when_a_cell_id_is_out_of_range():
    numa = facts_of(
        "<cpu><numa><cell id='1' cpus='0-1' memory='1'/><cell id='2' cpus='2-3' memory='1'/>"
        "</numa></cpu>"
    ).guest_numa
    assert not numa.ids_valid and not numa.valid


def test_effective_vcpupins_drop_missing_vcpus_and_keep_the_first_duplicate():
    facts = facts_of(
        "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='0' cpuset='2'/>"
        "<vcpupin vcpu='9' cpuset='3'/></cputune>"
    )
    pins = facts.effective_vcpupins
    assert list(pins) == [0]
    assert pins[0].cpuset.ids == {1}


@pytest.mark.parametrize(
    "vcpu,numatune,expected",
    [
        ("<vcpu>4</vcpu>", "", None),
        ("<vcpu placement='auto'>4</vcpu>", "", "auto"),
        ("<vcpu>4</vcpu>", "<numatune><memory mode='strict' nodeset='0'/></numatune>", "static"),
        ("<vcpu placement='auto'>4</vcpu>", "<numatune><memory nodeset='0'/></numatune>", "static"),
        ("<vcpu placement='auto'>4</vcpu>", "<numatune><memory mode='strict'/></numatune>", "auto"),
        ("<vcpu>4</vcpu>", "<numatune><memory placement='auto'/></numatune>", "auto"),
    ],
)
def test_numatune_placement_follows_virDomainNumatuneSet(vcpu, numatune, expected):
    assert facts_of(numatune, vcpu=vcpu).numatune_placement == expected


def test_absurd_vcpu_count_gives_no_vcpu_ids():
    assert facts_of("", vcpu="<vcpu>4000000000</vcpu>").vcpu_ids is None
    assert facts_of("", vcpu="<vcpu>3</vcpu>").vcpu_ids == range(3)
