"""Conformance: libvirt 10.7's own verdicts on its QEMU test inputs, against ours.

Every row of ``../shared/libvirt-verdicts/qemuxmlconf-verdicts.tsv`` is linted with every
rule against the host libvirt's test used (tools/agreement.py says how the host files are
chosen and defines "carries libvirt's reason"). The figures are printed in pytest's
terminal summary, with and without DX002.

The asserted figures are today's, as floors: the agreement issues raise them. Issue 15's
targets (95 % of rejections in its areas with libvirt's reason, at most 1 % of accepted
inputs with an error) are what that work aims for, not what this test demands yet.
False errors must not grow: the accepted inputs (and libvirt-written outputs) that get an
error are exactly the known list below, each with the rule and why. A new one fails, and
so does one that goes away (take it off the list).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import REPO, TERMINAL_REPORTS

sys.path.insert(0, str(REPO / "tools"))

import agreement  # noqa: E402

pytestmark = pytest.mark.corpus

_NO_USB_CAPS = (
    "capabilities with the USB controllers removed: the same XML with the real ones is "
    "accepted (usb-controller-default-fallback-powernv9)"
)
#: Rejections that come from libvirt's fake test environment, not from the definition.
KNOWN_EXCEPTIONS = {
    ("domain/firmware-auto-efi-loader-path-nonstandard.xml", "x86_64"): (
        "firmware autoselection among the test suite's fake firmware descriptors"
    ),
    ("domain/firmware-auto-efi-rw-pflash.xml", "x86_64"): (
        "firmware autoselection among the test suite's fake firmware descriptors"
    ),
    ("domain/hugepages-default-5M.xml", "x86_64"): (
        "no hugetlbfs mount for 5 MiB pages among the test's fake mounts (2M, 1G)"
    ),
    ("domain/pseries-cpu-compat-power9.xml", "ppc64"): "compared with the test's fake host CPU",
    ("domain/pseries-cpu-compat-power10.xml", "ppc64"): "compared with the test's fake host CPU",
    ("domain/memory-hotplug-nonuma.xml", "x86_64"): (
        "libvirt's test parses without VIR_DOMAIN_DEF_PARSE_ABI_UPDATE; `virsh define` (libvirt "
        "9.6 and later) adds the missing NUMA node itself (qemuDomainDefNumaAutoAdd)"
    ),
    ("domain/usb-controller-default-unavailable-g3beige.xml", "ppc64"): _NO_USB_CAPS,
    ("domain/usb-controller-default-unavailable-powernv9.xml", "ppc64"): _NO_USB_CAPS,
}

#: Accepted inputs that get an error today: (codes, why, whether libvirt's output gets it too).
KNOWN_FALSE_ERRORS = {
    ("domain/hvf-aarch64-virt-headless.xml", "aarch64"): (
        {"DX645"},
        "harness host: a kvm/qemu aarch64 host; libvirt's test ran it with hvf capabilities",
        True,
    ),
    ("domain/disk-cache.xml", "x86_64"): (
        {"DX401"},
        "policy: cache='unsafe' loses data on a host crash (error by the project's severity "
        "rule), though libvirt accepts it",
        True,
    ),
    ("domain/hugepages-numa-nodeset-part.xml", "x86_64"): (
        {"DX305"},
        "start-time: QEMU refuses a NUMA cell smaller than one 1 GiB page; libvirt's test only "
        "builds the command line",
        True,
    ),
    ("domain/net-virtio-rxtxqueuesize.xml", "x86_64"): (
        {"DX540"},
        "start-time: QEMU refuses tx_queue_size 1024 on a non-vhost-user NIC; libvirt's test "
        "only builds the command line",
        True,
    ),
    ("domain/qemuxmlconfdata__cputune.xml", "x86_64"): (
        {"DX142"},
        "start-time: the kernel refuses priority 0 for fifo/rr; libvirt's test never starts it",
        False,
    ),
    ("domain/disk-cdrom-empty-network-invalid.xml", "x86_64"): (
        {"DX002"},
        "schema-invalid (network disk without <source>): libvirt's parser accepts it, "
        "`virsh define --validate` refuses it",
        False,
    ),
    ("domain/firmware-manual-efi-features.xml", "x86_64"): (
        {"DX653"},
        "define-time: <firmware><feature> without <os firmware=...>; libvirt's test parses "
        "without the flags of a define and ignores the features, `virsh define` refuses it "
        "(proven on libvirt 9.0, tests/test_libvirt_embedded.py)",
        False,
    ),
    ("domain/numatune-auto-nodeset-invalid.xml", "x86_64"): (
        {"DX002"},
        "schema-invalid (placement='auto' with a nodeset): libvirt's parser accepts it, "
        "`virsh define --validate` refuses it",
        False,
    ),
}

#: libvirt-written outputs (of inputs that get no error) that get an error: (codes, why).
KNOWN_OUTPUT_FALSE_ERRORS = {
    (f"domain/{name}.x86_64-latest.xml", "x86_64"): (
        {"DX964"},
        "the output writes the default TPM version 1.2 out explicitly; the test's domain "
        "capabilities offer TPM 2.0 only, and an explicit 1.2 is refused on them "
        "(tpm-emulator.xml's verdict); libvirt's test never validates its output again",
    )
    for name in ("x86_64-pc-default-models", "x86_64-q35-default-models")
}

#: Today's counts over the rejections outside KNOWN_EXCEPTIONS (117 of 125).
FLOORS = {
    "with DX002": {"rejected_with_error": 116, "rejected_with_reason": 115},
    "without DX002": {"rejected_with_error": 114, "rejected_with_reason": 114},
}
#: Per area (from docs/libvirt-checks.md), with DX002: (any error, carries libvirt's reason).
AREA_FLOORS = {
    "CPU/topology": (7, 7),
    "TPM": (3, 3),
    "addresses": (11, 11),
    "chardev": (5, 5),
    "clock/timers": (1, 1),
    "controller": (9, 9),
    "cputune/numatune": (4, 4),
    "disk": (15, 15),
    "features": (6, 6),
    "filesystem": (1, 1),
    "firmware/OS/boot": (10, 10),
    "graphics/video": (5, 5),
    "hostdev": (9, 9),
    "input": (2, 2),
    "iommu": (2, 2),
    "iothreads": (1, 1),
    "memory/NUMA": (7, 7),
    "misc": (2, 2),
    "net": (2, 2),
    "schema": (2, 1),
    "seclabel": (2, 2),
    "shmem": (3, 3),
    "sysinfo/smbios": (1, 1),
    "unclassified": (3, 3),
    "wdog/panic/rng/vsock/balloon/...": (3, 3),
}


@pytest.fixture(scope="module")
def shared(corpus, schemas) -> Path:
    root = corpus.parent.parent
    for needed in ("libvirt-verdicts/qemuxmlconf-verdicts.tsv", "docs/libvirt-checks.md"):
        assert (root / needed).is_file(), f"{root / needed} is missing"
    return root


@pytest.fixture(scope="module")
def results(shared):
    runs = {
        "with DX002": agreement.evaluate(shared),
        "without DX002": agreement.evaluate(shared, ignore=["DX002"]),
    }
    for name, result in runs.items():
        summary = agreement.summarise(result, KNOWN_EXCEPTIONS)
        TERMINAL_REPORTS.append(
            agreement.render(
                summary,
                f"libvirt agreement, --select ALL {name} "
                f"({len(KNOWN_EXCEPTIONS)} known exceptions left out)",
                brief=True,
            )
        )
    return runs


def test_known_exceptions_are_few_and_are_rejections(shared):
    rejected = {(v.file, v.arch) for v in agreement.load_verdicts(shared) if v.verdict == "reject"}
    assert len(KNOWN_EXCEPTIONS) < 10
    assert set(KNOWN_EXCEPTIONS) <= rejected


def test_every_row_is_linted_against_a_host(results):
    for outcome in results["with DX002"]["inputs"]:
        assert outcome.host, outcome.file
        assert outcome.host[0] == f"caps.{outcome.arch}.xml"
        assert len(outcome.host) == 2, (outcome.file, outcome.host)


@pytest.mark.parametrize("run", sorted(FLOORS))
def test_recall_does_not_fall(results, run):
    summary = agreement.summarise(results[run], KNOWN_EXCEPTIONS)
    assert summary["rejected"] == 117
    for key, floor in FLOORS[run].items():
        assert summary[key] >= floor, f"{run}: {key} fell to {summary[key]} (was {floor})"


def test_recall_per_area_does_not_fall(results):
    per_area = agreement.summarise(results["with DX002"], KNOWN_EXCEPTIONS)["per_area"]
    for area, (any_error, reason) in AREA_FLOORS.items():
        counts = per_area.get(area, {})
        assert counts.get("any_error", 0) >= any_error, (area, counts)
        assert counts.get("carries_reason", 0) >= reason, (area, counts)


def test_false_errors_on_accepted_inputs_are_the_known_ones(results):
    found = {
        (o.file, o.arch): {e["code"] for e in o.errors}
        for o in results["with DX002"]["inputs"]
        if o.verdict == "accept" and o.errors
    }
    expected = {key: codes for key, (codes, _, _) in KNOWN_FALSE_ERRORS.items()}
    new = {k: v for k, v in found.items() if expected.get(k) != v}
    gone = sorted(k for k in expected if k not in found)
    assert not new, f"new false errors on inputs libvirt accepts: {new}"
    assert not gone, f"fixed, take them off KNOWN_FALSE_ERRORS: {gone}"


def test_false_errors_on_libvirt_written_outputs_are_the_known_ones(results):
    by_output = {}
    for (file, arch), (codes, _, on_output) in KNOWN_FALSE_ERRORS.items():
        if on_output:
            by_output[(agreement.output_of(agreement.Verdict(file, arch, "", "")), arch)] = codes
    by_output |= {key: codes for key, (codes, _) in KNOWN_OUTPUT_FALSE_ERRORS.items()}
    found = {
        (o.file, o.arch): {e["code"] for e in o.errors}
        for o in results["with DX002"]["outputs"]
        if o.errors
    }
    assert found == by_output


def test_without_dx002_only_the_schema_findings_go(results):
    with_schema = {(o.file, o.arch): o for o in results["with DX002"]["inputs"]}
    for outcome in results["without DX002"]["inputs"]:
        codes = {e["code"] for e in outcome.errors}
        full = {e["code"] for e in with_schema[(outcome.file, outcome.arch)].errors}
        assert codes == full - {"DX002"}, outcome.file


# -- the harness's own definitions ----------------------------------------------------------


def test_carries_strips_the_error_class_and_normalises_case_space_and_quotes():
    libvirt = "XML error: Invalid value for attribute 'version' in element 'gic': 'none'."
    ours = (
        "Invalid value for attribute 'version' in element 'gic': 'none'. Expected one of: "
        "host, 2, 3"
    )
    assert agreement.carries(libvirt, ours)
    assert agreement.carries(
        "unsupported configuration: IOMMU device: 'intel' is only supported with  Q35 machines",
        'iommu device: "intel" is only supported with Q35 machines (libvirt refuses it)',
    )
    assert not agreement.carries(libvirt, "Invalid value for attribute 'version'")
    assert not agreement.carries("internal error: ", "anything")


def test_the_host_follows_the_guests_machine_and_virt_type(corpus):
    def chosen(arch, version, machine, virt="kvm"):
        path = agreement.domcaps_file(corpus, arch, version, machine, virt)
        return path.name if path else None

    assert chosen("x86_64", "9.1.0", "pc-q35-9.1") == "qemu_9.1.0-q35.x86_64.xml"
    assert chosen("x86_64", "9.1.0", "pc-i440fx-9.1") == "qemu_9.1.0.x86_64.xml"
    assert chosen("x86_64", "9.1.0", "pc", "qemu") == "qemu_9.1.0-tcg.x86_64.xml"
    assert chosen("aarch64", "8.2.0", "virt") == "qemu_8.2.0-virt.aarch64.xml"
    assert chosen("riscv64", "8.0.0", "") == "qemu_8.0.0-virt.riscv64.xml"  # no plain file
    assert chosen("alpha", "9.1.0", "") is None


def test_areas_come_from_the_inventory(shared):
    areas = agreement.Areas(shared / "docs" / "libvirt-checks.md")
    assert areas.area_of("XML error: Multiple 'pci' controllers with index '1'") == "controller"
    assert (
        areas.area_of("unsupported configuration: 'cow' storage format is not supported") == "disk"
    )
    assert (
        areas.area_of("XML error: Invalid value for attribute 'queues' in element 'driver': '-5'.")
        == agreement.SCHEMA_AREA
    )
    assert areas.area_of("nothing libvirt ever said") == agreement.UNCLASSIFIED


def test_the_script_prints_a_table_and_json(shared):
    import json
    import subprocess

    text = subprocess.run(
        [sys.executable, str(REPO / "tools" / "agreement.py"), "--shared", str(shared)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "rejected inputs with an error" in text and "false errors:" in text
    data = json.loads(
        subprocess.run(
            [
                sys.executable,
                str(REPO / "tools" / "agreement.py"),
                "--json",
                "--ignore",
                "DX002",
                "--shared",
                str(shared),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert data["ignore"] == ["DX002"] and data["summary"]["rejected"] == 125
    assert len(data["inputs"]) == 762
