"""Facts of the CPU, NUMA and memory families that the agreement rules read."""

from __future__ import annotations

from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts
from domxml_lint.host import load_host
from helpers import HOSTS
from samples import domain


def _facts(text: str) -> DomainFacts:
    return DomainFacts(Document.parse(text.encode(), "vm.xml"))


def test_vcpu_states_follow_vcpus_or_current():
    listed = _facts(
        domain(
            "  <vcpus>\n"
            "    <vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>\n"
            "    <vcpu id='2' enabled='yes' order='2'/>\n"
            "  </vcpus>",
            vcpu="<vcpu current='1'>3</vcpu>",
        )
    )
    states = listed.vcpu_states
    assert [(s.id, s.online, s.hotpluggable, s.order) for s in states] == [
        (0, True, False, 1),
        (1, False, None, 0),  # unlisted: offline, hotpluggable not written
        (2, True, None, 2),
    ]
    assert listed.online_vcpu_count == 2  # <vcpus> wins over current='1'
    plain = _facts(domain(vcpu="<vcpu current='2'>4</vcpu>"))
    assert [s.online for s in plain.vcpu_states] == [True, True, False, False]
    assert plain.online_vcpu_count == 2


def test_cpu_features_maxphysaddr_and_pseries():
    facts = _facts(
        domain(
            "  <cpu mode='custom' match='minimum' check='partial'>\n"
            "    <model fallback='forbid' vendor_id='GenuineIntel'>Haswell</model>\n"
            "    <feature name='vmx'/>\n"
            "    <maxphysaddr mode='passthrough' limit='39'/>\n"
            "  </cpu>",
            machine="pseries-8.2",
            arch="ppc64",
        )
    )
    cpu = facts.cpu
    assert (cpu.match, cpu.check, cpu.fallback, cpu.has_model) == (
        "minimum",
        "partial",
        "forbid",
        True,
    )
    assert cpu.feature("vmx").policy == "require"  # libvirt's default policy
    assert (cpu.maxphysaddr.mode, cpu.maxphysaddr.bits, cpu.maxphysaddr.limit) == (
        "passthrough",
        None,
        39,
    )
    assert facts.is_pseries


def test_numa_details_interconnects_and_cell0_filling():
    facts = _facts(
        domain(
            "  <cpu>\n"
            "    <numa>\n"
            "      <cell memory='1' unit='GiB'>\n"
            "        <distances><sibling id='1' value='21'/></distances>\n"
            "      </cell>\n"
            "      <cell cpus='1' memory='1' unit='GiB'>\n"
            "        <cache level='1' associativity='direct' policy='writeback'>\n"
            "          <size value='8' unit='KiB'/><line value='8' unit='B'/>\n"
            "        </cache>\n"
            "      </cell>\n"
            "      <interconnects>\n"
            "        <latency initiator='0' target='1' type='access' value='5'/>\n"
            "      </interconnects>\n"
            "    </numa>\n"
            "  </cpu>",
            machine="q35",
        )
    )
    first, second = facts.numa_cell_details
    assert first.id == 0 and [(s.id, s.value) for s in first.siblings] == [(1, 21)]
    assert [c.level for c in second.caches] == [1]
    (link,) = facts.numa_interconnects
    assert (link.kind, link.initiator, link.target, link.cache) == ("latency", 0, 1, 0)
    assert facts.has_hmat
    # vCPU 0 is in no cell: libvirt's QEMU driver adds it to cell 0
    assert facts.numa_cell_has_cpus(0) is True
    assert facts.numa_cell_has_cpus(1) is True


def test_memory_device_addresses_are_hex():
    facts = _facts(
        domain(
            devices=(
                "    <memory model='dimm' discard='yes'>\n"
                "      <target><size unit='GiB'>1</size><node>0</node></target>\n"
                "      <address type='dimm' slot='2' base='0x100000000'/>\n"
                "    </memory>\n"
                "    <memory model='virtio-mem'>\n"
                "      <source><nodemask>0,^0</nodemask></source>\n"
                "      <target><size unit='GiB'>1</size><address base='140000000'/></target>\n"
                "    </memory>\n"
            )
        )
    )
    dimm, vmem = facts.memory_devices
    assert (dimm.dimm_slot, dimm.dimm_base, dimm.discard) == (2, 0x100000000, True)
    assert vmem.target_base == 0x140000000  # libvirt reads the base in hex
    assert vmem.nodemask is None and vmem.nodemask_text == "0,^0"


def test_a_machine_alias_the_capabilities_do_not_list_finds_the_newest_of_its_family(tmp_path):
    bundle = (HOSTS / "x86-tcg-kvm-caps.xml").read_text()
    start = bundle.index("<domainCapabilities>")
    first = bundle[start : bundle.index("</domainCapabilities>") + len("</domainCapabilities>")]
    older = first.replace("pc-i440fx-9.1", "pc-i440fx-8.2")
    for name, text in (("new.xml", first), ("old.xml", older)):
        (tmp_path / name).write_text(text)
    host = load_host(tmp_path / "old.xml", tmp_path / "new.xml")  # no capabilities
    assert host.domain_caps_for("qemu", "x86_64", "pc").machine == "pc-i440fx-9.1"
    assert host.domain_caps_for("qemu", "x86_64", "pc-i440fx-8.2").machine == "pc-i440fx-8.2"
    assert host.domain_caps_for("qemu", "x86_64", "q35") is None  # no q35 document
    assert host.domain_caps_for("qemu", "x86_64", "pc-i440fx-7.0") is None
