"""What the CPU, pinning and guest-NUMA rules say, beyond "it fires" (see the fixtures)."""

from __future__ import annotations

from functools import partial

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import FIXTURES, RULE_FIXTURES
from samples import GIB_4, domain


def findings(rule: str, xml: str):
    return build_linter(select=[rule]).check(Document.parse(xml.encode())).findings


#: The guests of this module: 4 GiB, 4 vCPUs unless a test says otherwise.
guest = partial(domain, name="t", memory=GIB_4, vcpu="<vcpu>4</vcpu>")


def test_split_socket_names_the_vcpus_qemu_puts_in_each_socket():
    # sockets=2 cores=2 threads=1: vCPUs 0-1 are socket 0, 2-3 socket 1
    xml = guest(
        "<cpu><topology sockets='2' cores='2' threads='1'/><numa>"
        "<cell id='0' cpus='0,2' memory='2' unit='GiB'/>"
        "<cell id='1' cpus='1,3' memory='2' unit='GiB'/></numa></cpu>"
    )
    messages = [f.message for f in findings("numa-cell-splits-socket", xml)]
    assert messages == [
        "socket 0 is split across guest NUMA cells: cell 0 has vCPU 0, cell 1 has vCPU 1",
        "socket 1 is split across guest NUMA cells: cell 0 has vCPU 2, cell 1 has vCPU 3",
    ]


def test_split_socket_needs_a_matching_topology():
    # 2 x 2 x 1 = 4 vCPUs, but <vcpu> says 8: cpu-topology-mismatch's job, not a guess here
    xml = guest(
        "<cpu><topology sockets='2' cores='2' threads='1'/><numa>"
        "<cell id='0' cpus='0,2' memory='2' unit='GiB'/>"
        "<cell id='1' cpus='1,3' memory='2' unit='GiB'/></numa></cpu>",
        vcpu="<vcpu>8</vcpu>",
    )
    assert findings("numa-cell-splits-socket", xml) == []
    assert [f.code for f in findings("cpu-topology-mismatch", xml)] == ["DX101"]


def test_overlapping_cells_are_not_also_counted_twice():
    xml = guest(
        "<cpu><numa><cell id='0' cpus='0-2' memory='2' unit='GiB'/>"
        "<cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa></cpu>"
    )
    messages = [f.message for f in findings("numa-cells-invalid", xml)]
    assert messages == ["NUMA cells 1 and 0 have overlapping vCPU ids (vCPU 2 in both)"]


def test_memorytune_is_compared_after_every_cachetune_as_libvirt_parses_them():
    path = RULE_FIXTURES / "cachetune-overlap" / "trigger-memorytune.xml"
    (finding,) = (
        build_linter(select=["cachetune-overlap"]).check(Document.parse(path.read_bytes())).findings
    )
    # the memorytune comes first in the file, but it is the one libvirt refuses
    assert finding.path == "/domain/cputune/memorytune"
    assert finding.message.startswith("Overlapping vcpus in resctrls: this memorytune")


def test_vcpupin_rules_see_the_pins_libvirt_keeps():
    xml = guest(
        "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='0' cpuset='2'/>"
        "<vcpupin vcpu='1' cpuset='3'/><vcpupin vcpu='7' cpuset='4'/></cputune>",
        vcpu="<vcpu>2</vcpu>",
    )
    assert [f.message for f in findings("vcpupin-duplicate", xml)] == [
        "duplicate vcpupin for vcpu '0' (first pinned on line 5): libvirt refuses the domain"
    ]
    assert [f.path for f in findings("vcpupin-unknown-vcpu", xml)] == ["/domain/cputune/vcpupin[4]"]
    assert findings("vcpupin-incomplete", xml) == []


def test_numa_memory_sum_counts_memory_devices_as_libvirt_does():
    xml = guest(
        "<cpu><numa><cell id='0' cpus='0-3' memory='3' unit='GiB'/></numa></cpu>\n"
        "<devices><memory model='dimm'><target><size unit='GiB'>1</size><node>0</node>"
        "</target></memory></devices>"
    )
    assert findings("numa-memory-mismatch", xml) == []


def test_memnode_with_numad_vcpus_but_an_explicit_nodeset_is_static():
    xml = guest(
        "<numatune><memory mode='strict' nodeset='0'/>"
        "<memnode cellid='0' mode='strict' nodeset='0'/></numatune>"
        "<cpu><numa><cell id='0' cpus='0-3' memory='4' unit='GiB'/></numa></cpu>",
        vcpu="<vcpu placement='auto'>4</vcpu>",
    )
    assert findings("numatune-memnode-invalid", xml) == []


def test_guide_tuned_guest_is_clean_under_the_cpu_and_numa_rules():
    doc = Document.parse((FIXTURES / "examples" / "guide-tuned.xml").read_bytes())
    selected = [
        "DX101", "DX102", "DX103", "DX104", "DX107", "DX108", "DX110", "DX111", "DX112",
        "DX113", "DX206", "DX207", "DX208", "DX209", "DX210",
    ]  # fmt: skip
    codes = [f.code for f in build_linter(select=selected).check(doc).findings]
    # four sockets of one core each, as guide 3.2.3 says, so even the opt-in DX112 is quiet
    assert codes == []
