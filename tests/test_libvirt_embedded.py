"""Proof from libvirt's real QEMU driver: its verdict on rule fixtures agrees with the rules.

libvirt's QEMU driver runs inside this process, without a daemon, as
``qemu:///embed?root=DIR`` (Debian: libvirt-daemon-driver-qemu and qemu-system-x86;
libvirt-python must register an event loop before opening it). Every case defines a
rule fixture with ``VIR_DOMAIN_DEFINE_VALIDATE`` (plain define where the fixture breaks
the schema on purpose): a trigger must be refused with a message one of the rule's errors
carries, as tools/agreement.py defines it; a clean fixture must be defined, and the rule
stay silent. The test driver (test_libvirt_proofs.py) proves driver-independent checks;
only this driver runs qemu_validate.c, qemu_domain.c and the QEMU post-parse code.

This is Debian 12's libvirt 9.0 and QEMU 7.2, older than the corpus's 10.7: the cases
are the fixtures whose check 9.0 already has; the rest are listed with the reason.

Why the driver once re-probed QEMU at every define (about a minute each): libvirt probes
QEMU as root, with KVM, but the default run user (libvirt-qemu) cannot open /dev/kvm
(root-only here), so ``virQEMUCapsIsValid`` ("KVM was enabled when probing ..., but it is
not available now") threw the cached capabilities away at every lookup. Running guests as
root (``user``/``group`` in the embedded root's etc/qemu.conf) keeps /dev/kvm usable for
the run user: one probe per session, a few seconds, then about 10 ms a define.
``test_qemu_is_probed_once`` guards that. The driver also needs a ``libvirt-qemu`` user
to exist, whatever qemu.conf says (its compiled-in default is resolved first).

A second cause of probes, across processes: the cache is also outdated when "host cpuid
changed", and the host CPUID libvirt records when its driver starts differs between this
VM's two vCPUs (their /proc/cpuinfo flags are the same). A cache probed by a process that
started on one CPU makes a process that starts on the other probe again. Within one process
the recorded CPUID stays, so the tests need one probe per emulator (x86_64, i386) per
session; the CLI test starts its process on the driver's CPU and reuses the cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import REPO, RULE_FIXTURES
from libvirt_helpers import Embedded

sys.path.insert(0, str(REPO / "tools"))

from agreement import carries  # noqa: E402

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

#: Plain define (no schema validation): the fixture is schema-invalid by design, or uses
#: something libvirt 9.0's schema does not know yet.
NO_VALIDATE = "no-validate"

#: (rule, fixture[, NO_VALIDATE]). The firmware, boot and feature rules of this project,
#: then the older rules that reproduce a QEMU-driver check libvirt 9.0 has.
CASES = [
    ("secure-boot-requirements", "trigger.xml"),
    ("secure-boot-requirements", "trigger-noacpi.xml"),
    ("secure-boot-requirements", "clean.xml"),
    ("secure-boot-requirements", "clean-auto.xml"),
    ("boot-order-invalid", "trigger.xml"),
    ("boot-order-invalid", "trigger-os-boot.xml"),
    ("boot-order-invalid", "clean.xml"),
    ("boot-order-invalid", "clean-os-boot.xml"),
    ("boot-timeout-invalid", "trigger.xml", NO_VALIDATE),
    ("boot-timeout-invalid", "clean.xml"),
    ("boot-timeout-invalid", "clean-menu-disabled.xml", NO_VALIDATE),
    ("acpi-table-duplicate", "trigger.xml"),
    ("acpi-table-duplicate", "clean.xml"),
    ("firmware-feature-conflict", "trigger.xml"),
    ("firmware-feature-conflict", "trigger-no-autoselection.xml"),
    ("firmware-feature-conflict", "clean.xml"),
    ("firmware-feature-conflict", "clean-no-keys.xml"),
    ("loader-path-missing", "trigger.xml"),
    ("loader-path-missing", "trigger-nvram-only.xml"),
    ("loader-path-missing", "clean.xml"),
    ("loader-path-missing", "clean-manual.xml"),
    ("nvram-not-permitted", "trigger.xml"),
    ("nvram-not-permitted", "trigger-stateless.xml"),
    ("nvram-not-permitted", "trigger-stateless-template.xml"),
    ("nvram-not-permitted", "trigger-rom.xml"),
    ("nvram-not-permitted", "trigger-auto-bios.xml"),
    ("nvram-not-permitted", "clean.xml"),
    ("nvram-not-permitted", "clean-stateless.xml"),
    ("nvram-not-permitted", "clean-bios.xml"),
    ("nvram-source-unsupported", "trigger.xml"),
    ("nvram-source-unsupported", "trigger-slices.xml"),
    ("nvram-source-unsupported", "clean.xml"),
    ("nvram-source-unsupported", "clean-network.xml"),
    ("bootloader-unsupported", "trigger.xml"),
    ("bootloader-unsupported", "clean.xml"),
    ("bootloader-unsupported", "clean-empty.xml"),
    ("bios-serial-invalid", "trigger.xml"),
    ("bios-serial-invalid", "clean.xml"),
    ("bios-serial-invalid", "clean-console.xml"),
    ("kvm-dirty-ring-size-invalid", "trigger.xml"),
    ("kvm-dirty-ring-size-invalid", "clean.xml"),
    ("kvm-dirty-ring-size-invalid", "clean-off.xml"),
    ("smm-tseg-invalid", "trigger.xml"),
    ("smm-tseg-invalid", "trigger-size.xml"),
    ("smm-tseg-invalid", "clean.xml"),
    ("smm-tseg-invalid", "clean-smm-off.xml"),
    ("feature-unsupported-by-machine", "trigger.xml"),
    ("feature-unsupported-by-machine", "clean.xml"),
    ("tcg-feature-invalid", "trigger.xml"),
    ("tcg-feature-invalid", "trigger-size.xml"),
    ("tcg-feature-invalid", "clean.xml"),
    ("acpi-unsupported-by-machine", "clean-x86.xml"),
    # older rules
    ("cpu-topology-mismatch", "trigger.xml"),
    ("cpu-topology-mismatch", "clean.xml"),
    ("vcpu-count-invalid", "trigger.xml"),
    ("vcpu-count-invalid", "trigger-vcpus-id.xml"),
    ("vcpu-count-invalid", "clean.xml"),
    ("vcpus-over-255-need-iommu-eim", "trigger.xml", NO_VALIDATE),
    ("vcpus-over-255-need-iommu-eim", "clean.xml"),
    ("cpu-cache-mode-invalid", "trigger.xml"),
    ("cpu-cache-mode-invalid", "trigger-emulate.xml"),
    ("cpu-cache-mode-invalid", "clean.xml"),
    ("cpu-cache-mode-invalid", "clean-emulate-l3.xml"),
    ("hugepage-backing-incompatible", "trigger.xml"),
    ("hugepage-backing-incompatible", "clean.xml"),
    ("hugepage-backing-incompatible", "clean-no-hugepages.xml"),
    ("memory-sizes-inconsistent", "trigger.xml"),
    ("memory-sizes-inconsistent", "clean.xml"),
    ("memory-sizes-inconsistent", "trigger-devices-take-all-no-fix.xml"),
    ("memory-sizes-inconsistent", "trigger-no-memory-no-fix.xml"),
    ("iothread-reference-invalid", "trigger.xml"),
    ("iothread-reference-invalid", "trigger-iothreadids.xml"),
    ("iothread-reference-invalid", "trigger-no-iothreads.xml"),
    ("iothread-reference-invalid", "clean.xml"),
    ("scsi-controller-virtio-only-option", "trigger.xml"),
    ("scsi-controller-virtio-only-option", "trigger-serial-iothread.xml"),
    ("shareable-disk-format", "trigger.xml"),
    ("shareable-disk-format", "clean.xml"),
    ("vhostuser-disk-invalid", "trigger.xml"),
    ("vhostuser-disk-invalid", "clean.xml"),
    ("vhostuser-disk-invalid", "clean-metadata-cache.xml"),
    ("net-coalesce-unsupported", "trigger.xml"),
    ("net-coalesce-unsupported", "clean.xml"),
    ("net-ring-size-invalid", "trigger.xml"),
    ("net-ring-size-invalid", "clean.xml"),
    ("vhostuser-needs-shared-memory", "trigger.xml"),
    ("vhostuser-needs-shared-memory", "clean.xml"),
    ("vhostuser-needs-shared-memory", "clean-numa-cells.xml"),
    ("iommu-invalid", "trigger.xml"),
    ("iommu-invalid", "trigger-no-features.xml"),
    ("iommu-invalid", "clean.xml"),
    ("iommu-invalid", "trigger-virtio-attributes-no-fix.xml"),
    ("iommu-invalid", "trigger-intel-address-no-fix.xml"),
    ("iommu-invalid", "trigger-virtio-address-no-fix.xml"),
    ("iommu-invalid", "clean-virtio-pci.xml"),
    ("timer-invalid", "trigger.xml", NO_VALIDATE),
    ("timer-invalid", "clean.xml"),
    ("hyperv-value-invalid", "trigger.xml"),
    ("hyperv-value-invalid", "trigger-no-retries.xml"),
    ("hyperv-value-invalid", "clean.xml", NO_VALIDATE),
    ("hyperv-value-invalid", "clean-off.xml"),
    # issue 16, the last areas: seclabels, sysinfo, lifecycle, the qemu namespace, devices
    ("seclabel-invalid", "trigger.xml"),
    ("seclabel-invalid", "trigger-multiple.xml"),
    ("seclabel-invalid", "trigger-dynamic-norelabel.xml", NO_VALIDATE),
    ("seclabel-invalid", "trigger-none-relabel.xml", NO_VALIDATE),
    ("seclabel-invalid", "trigger-duplicate.xml"),
    ("seclabel-invalid", "clean.xml"),
    ("seclabel-invalid", "clean-none.xml"),
    ("seclabel-invalid", "clean-dynamic.xml"),
    ("seclabel-override-invalid", "trigger-label-norelabel.xml", NO_VALIDATE),
    ("seclabel-override-invalid", "trigger-duplicate.xml"),
    ("seclabel-override-invalid", "trigger-domain-norelabel.xml"),
    ("seclabel-override-invalid", "clean.xml"),
    ("seclabel-override-invalid", "clean-labelskip.xml"),
    ("smbios-sysinfo-invalid", "trigger.xml"),
    ("smbios-sysinfo-invalid", "trigger-date.xml"),
    ("smbios-sysinfo-invalid", "clean.xml"),
    ("smbios-sysinfo-invalid", "clean-two-digit-year.xml"),
    ("fw-cfg-entry-invalid", "trigger.xml"),
    ("fw-cfg-entry-invalid", "trigger-reserved.xml"),
    ("fw-cfg-entry-invalid", "trigger-empty.xml"),
    ("fw-cfg-entry-invalid", "clean.xml"),
    ("lifecycle-action-unsupported", "trigger.xml"),
    ("lifecycle-action-unsupported", "trigger-preserve.xml"),
    ("lifecycle-action-unsupported", "trigger-rename.xml"),
    ("lifecycle-action-unsupported", "clean.xml"),
    ("lifecycle-action-unsupported", "clean-crash-preserve.xml"),
    ("domain-name-invalid", "trigger.xml"),
    ("domain-name-invalid", "trigger-title.xml", NO_VALIDATE),
    ("domain-name-invalid", "clean.xml"),
    ("os-type-unsupported", "trigger.xml", NO_VALIDATE),
    ("os-type-unsupported", "clean.xml"),
    ("fibrechannel-appid-invalid", "trigger.xml", NO_VALIDATE),
    ("fibrechannel-appid-invalid", "trigger-tab.xml", NO_VALIDATE),
    ("fibrechannel-appid-invalid", "clean.xml"),
    ("perf-event-duplicate", "trigger.xml"),
    ("perf-event-duplicate", "clean.xml"),
    ("qemu-namespace-invalid", "trigger.xml"),
    ("qemu-namespace-invalid", "trigger-env.xml", NO_VALIDATE),
    ("qemu-namespace-invalid", "trigger-unsigned.xml"),
    ("qemu-namespace-invalid", "clean.xml"),
    ("clock-start-invalid", "trigger.xml"),
    ("clock-start-invalid", "clean.xml"),
    ("pm-suspend-unsupported", "clean.xml"),
    ("panic-invalid", "trigger-duplicate.xml"),
    ("panic-invalid", "clean.xml"),
    ("watchdog-model-invalid", "trigger-address.xml"),
    ("watchdog-model-invalid", "trigger-diag288.xml"),
    ("watchdog-model-invalid", "clean-ib700.xml"),
    ("vsock-cid-invalid", "trigger.xml"),
    ("vsock-cid-invalid", "clean.xml"),
    ("vsock-cid-invalid", "clean-auto.xml"),
    ("memballoon-model-unsupported", "clean.xml"),
    ("memballoon-model-unsupported", "clean-none.xml"),
    ("nvram-device-invalid", "trigger.xml"),
    ("smartcard-invalid", "trigger.xml", NO_VALIDATE),
    ("smartcard-invalid", "trigger-database.xml", NO_VALIDATE),
    ("smartcard-invalid", "trigger-two.xml"),
    ("smartcard-invalid", "trigger-slot.xml"),
    ("smartcard-invalid", "trigger-address.xml"),
    ("smartcard-invalid", "clean.xml"),
    ("redirdev-invalid", "trigger.xml"),
    ("redirdev-invalid", "trigger-class.xml", NO_VALIDATE),
    ("redirdev-invalid", "clean.xml"),
    ("filesystem-invalid", "trigger-boot.xml"),
    ("filesystem-invalid", "trigger-fmode.xml", NO_VALIDATE),
    ("filesystem-invalid", "trigger-no-target.xml", NO_VALIDATE),
    ("filesystem-invalid", "trigger-no-source.xml", NO_VALIDATE),
    ("filesystem-invalid", "clean.xml"),
    ("filesystem-invalid", "clean-virtiofs.xml"),
    ("filesystem-invalid", "clean-socket.xml"),
    ("filesystem-unsupported-by-qemu", "trigger.xml"),
    ("filesystem-unsupported-by-qemu", "trigger-ram.xml"),
    ("filesystem-unsupported-by-qemu", "trigger-handle.xml"),
    ("filesystem-unsupported-by-qemu", "clean.xml"),
    ("virtiofs-invalid", "trigger.xml"),
    ("virtiofs-invalid", "trigger-mapped.xml"),
    ("virtiofs-invalid", "clean.xml"),
    ("virtiofs-invalid", "clean-default-access.xml"),
    # issue 16, the last class C checks: what this QEMU has, libvirt accepts and the rule lets be
    ("iommu-invalid", "clean-virtio-qemu-7.0.xml"),
    ("timer-invalid", "clean-pit-catchup-snapshot.xml"),
    ("memballoon-model-unsupported", "clean-snapshot.xml"),
    ("virtiofs-invalid", "clean-boot-qemu-6.0.xml"),
    ("smartcard-invalid", "clean-host-mode-no-snapshot.xml"),
    ("vsock-unsupported-by-qemu", "clean.xml"),
    ("vsock-unsupported-by-qemu", "clean-no-snapshot.xml"),
    ("usb-hub-unsupported-by-qemu", "clean.xml"),
    ("usb-hub-unsupported-by-qemu", "clean-no-snapshot.xml"),
    ("iothread-pool-unsupported-by-qemu", "clean.xml"),
    ("iothread-pool-unsupported-by-qemu", "clean-snapshot.xml"),
]

_NO_AARCH64 = "aarch64: no qemu-system-aarch64 here"
_NO_S390X = "s390x: no qemu-system-s390x here"
_NO_PPC64 = "ppc64: no qemu-system-ppc64 here"
_NEWER = "the check is newer than libvirt 9.0 (10.7 has it), which accepts the fixture"
_OTHER_BUILD = "a capability check against another build's cache: this QEMU has the device"
_OLDER_QEMU = "a capability check for QEMU %s (by qemu-version): this QEMU is 7.2"
_DMA_TRANSLATION = "dma_translation is newer than libvirt 9.0 (10.7 has it)"

#: Fixtures (or whole rules) of the rules above that cannot be proven here, and why.
NOT_PROVABLE_HERE = {
    "boot-loadparm-invalid": "s390x guests: no qemu-system-s390x; the schema refuses them too",
    "firmware-format-invalid": "libvirt 9.0 has no loader/nvram format= (9.2 added it)",
    "acpi-requires-uefi": "aarch64 guests: no qemu-system-aarch64 here",
    "vmport-needs-ps2": "libvirt 9.0 has no <ps2> feature (9.1 added it)",
    "pc-feature-on-other-machine": "<ps2> is unknown to 9.0; vmport on microvm fails earlier",
    "feature-unsupported-by-qemu": "9.0 knows neither <ps2> nor <async-teardown>",
    "acpi-unsupported-by-machine/trigger.xml": "ppc64: no qemu-system-ppc64; QEMU 7.2 < 8.0",
    "acpi-unsupported-by-machine/trigger-arm.xml": "aarch64: no qemu-system-aarch64 here",
    "acpi-unsupported-by-machine/clean.xml": "aarch64: no qemu-system-aarch64 here",
    "bios-serial-invalid/trigger-arch.xml": "aarch64: no qemu-system-aarch64 here",
    "feature-unsupported-by-machine/trigger-ppc64.xml": "ppc64: no qemu-system-ppc64 here",
    "feature-unsupported-by-machine/clean-pseries.xml": "ppc64: no qemu-system-ppc64 here",
    "feature-unsupported-by-machine/clean-arm.xml": "aarch64 guest, and <ras> is newer than 9.0",
    "feature-unsupported-by-machine/trigger-ras.xml": "<ras> is newer than libvirt 9.0",
    "cpu-topology-mismatch/clean-not-qemu.xml": "a Xen domain",
    "cpu-topology-mismatch/clean-pseries-whole-cores.xml": _NO_PPC64,
    "cpu-topology-mismatch/trigger-pseries-granularity.xml": _NO_PPC64,
    "cpu-topology-mismatch/trigger-bhyve.xml": "a bhyve domain",
    "cpu-topology-mismatch/trigger-clusters-crlf.xml": "<topology clusters> is newer than 9.0",
    "vcpu-count-invalid/clean-machine-limit.xml": "QEMU 7.2's q35 allows fewer vCPUs than 8.2",
    "vcpu-count-invalid/trigger-machine-limit.xml": "QEMU 7.2's machine limits differ",
    "timer-invalid/trigger-armvtimer-tcg.xml": "aarch64: no qemu-system-aarch64 here",
    "timer-invalid/trigger-armvtimer-off.xml": "aarch64: no qemu-system-aarch64 here",
    "timer-invalid/trigger-armvtimer-catchup.xml": "aarch64: no qemu-system-aarch64 here",
    "timer-invalid/clean-armvtimer.xml": "aarch64: no qemu-system-aarch64 here",
    "vcpus-over-255-need-iommu-eim/trigger-tabs.xml": "QEMU 7.2's q35 allows fewer vCPUs",
    "vcpus-over-255-need-iommu-eim/clean-not-x86.xml": "aarch64: no qemu-system-aarch64 here",
    "hyperv-value-invalid/clean-newer-features.xml": "Hyper-V features newer than libvirt 9.0",
    "iommu-invalid/clean-virtio.xml": "aarch64: no qemu-system-aarch64 here",
    "memory-sizes-inconsistent/clean-lxc-min-guarantee.xml": "an LXC domain",
    "vhostuser-disk-invalid/clean-vdpa.xml": "vhostvdpa disks are newer than libvirt 9.0",
    "vhostuser-needs-shared-memory/trigger-hugepages.xml": (
        "libvirt only warns for a vhost-user NIC without shared memory (the rule's own call)"
    ),
    "scsi-controller-virtio-only-option/clean.xml": (
        "libvirt refuses it: a SCSI controller without model= is lsilogic on x86, which takes "
        "no queues; the rule misses that"
    ),
    # issue 16, the last areas
    "seclabel-override-invalid/trigger.xml": _NEWER,
    "smbios-sysinfo-invalid/trigger-baseboards.xml": "refused when QEMU starts, not on define",
    "smbios-sysinfo-invalid/trigger-no-sysinfo.xml": "refused when QEMU starts, not on define",
    "pm-suspend-unsupported/trigger.xml": _NO_AARCH64,
    "panic-invalid/trigger.xml": _NO_AARCH64,
    "panic-invalid/trigger-hyperv-arm.xml": _NO_AARCH64,
    "panic-invalid/clean-arm.xml": _NO_AARCH64,
    "panic-invalid/trigger-address.xml": _NO_PPC64,
    "panic-invalid/clean-s390.xml": _NO_S390X,
    "panic-invalid/trigger-pvpanic-isa.xml": "libvirt 9.0 has no pvpanic model (9.1 added it)",
    "watchdog-model-invalid/trigger.xml": _NEWER + " (the machine checks came with itco, 9.1)",
    "watchdog-model-invalid/trigger-itco-pc.xml": "libvirt 9.0 has no itco model (9.1 added it)",
    "watchdog-model-invalid/clean.xml": "libvirt 9.0 allows one watchdog and knows no itco",
    "watchdog-model-invalid/clean-s390.xml": _NO_S390X,
    "memballoon-model-unsupported/trigger.xml": (
        "libvirt 9.0 fails earlier, assigning the xen balloon a PCI address"
    ),
    "nvram-device-invalid/trigger-address.xml": _NO_PPC64,
    "nvram-device-invalid/clean.xml": _NO_PPC64,
    "nvram-device-invalid/clean-no-address.xml": _NO_PPC64,
    "pstore-invalid": "libvirt 9.0 has no pstore device (newer releases added it)",
    "filesystem-invalid/trigger.xml": _NEWER,
    "filesystem-invalid/trigger-mixed.xml": _NEWER,
    "filesystem-unsupported-by-qemu/trigger-loop.xml": (
        "libvirt 9.0 fails earlier, finding no PCI slot kind for a loop filesystem"
    ),
    "filesystem-unsupported-by-qemu/trigger-limits.xml": _NEWER,
    "filesystem-unsupported-by-qemu/clean-virtiofs.xml": "9.0 has no <binary><sandbox>",
    "virtiofs-invalid/trigger-ccw-boot.xml": _NO_S390X,
    "virtiofs-invalid/clean-ccw.xml": _NO_S390X,
    "virtiofs-invalid/trigger-socket-readonly.xml": _NEWER,
    "keywrap-invalid": "key wrapping is s390's (no qemu-system-s390x here); on x86 QEMU's start",
    "idmap-invalid": "LXC domains: the QEMU driver does not define them",
    "launch-security-invalid": "libvirt 9.0 has no SEV-SNP launch security",
    "rng-unsupported": "a capability check: this QEMU has every RNG backend and model",
    "crypto-unsupported": "a capability check: libvirt 9.0 has no lkcf backend",
    "virtiofs-unsupported": "a capability check: this QEMU has vhost-user-fs",
    "redirdev-unsupported": "a capability check: this QEMU has usbredir",
    # issue 16, the last class C checks: another build's cache, or an older QEMU's version
    "iommu-invalid/trigger-intel-not-in-qemu-no-fix.xml": _OTHER_BUILD + " (intel-iommu)",
    "iommu-invalid/trigger-virtio-not-in-qemu-no-fix.xml": _OTHER_BUILD + " (virtio-iommu-pci)",
    "iommu-invalid/trigger-virtio-no-boot-bypass-no-fix.xml": _OLDER_QEMU % "6.2",
    "iommu-invalid/trigger-dma-translation-no-fix.xml": _DMA_TRANSLATION,
    "iommu-invalid/clean-snapshot.xml": _DMA_TRANSLATION,
    "panic-invalid/trigger-pvpanic-qemu-5.2.xml": _NO_AARCH64,
    "panic-invalid/clean-pvpanic-qemu-6.0.xml": _NO_AARCH64,
    "panic-invalid/trigger-pvpanic-snapshot.xml": "libvirt 9.0 has no pvpanic model",
    "panic-invalid/clean-pvpanic-snapshot.xml": "libvirt 9.0 has no pvpanic model",
    "timer-invalid/trigger-pit-catchup-arm.xml": _NO_AARCH64,
    "memballoon-model-unsupported/trigger-autodeflate-snapshot.xml": _OTHER_BUILD,
    "memballoon-model-unsupported/trigger-free-page-reporting-snapshot.xml": _OTHER_BUILD,
    "filesystem-unsupported-by-qemu/trigger-multidevs-snapshot.xml": _OTHER_BUILD + " (9p)",
    "filesystem-unsupported-by-qemu/trigger-mtp-snapshot.xml": _OTHER_BUILD + " (usb-mtp)",
    "filesystem-unsupported-by-qemu/clean-multidevs-mtp-snapshot.xml": _NO_AARCH64,
    "virtiofs-invalid/trigger-boot-qemu-5.2.xml": _OLDER_QEMU % "5.2",
    "smartcard-invalid/trigger-host-mode-snapshot.xml": _OTHER_BUILD + " (libcacard)",
    "smartcard-invalid/trigger-passthrough-snapshot.xml": _OTHER_BUILD + " (ccid-card-passthru)",
    "vsock-unsupported-by-qemu/trigger.xml": _OTHER_BUILD + " (QEMU on macOS)",
    "vsock-unsupported-by-qemu/trigger-minimal-build.xml": _OTHER_BUILD,
    "usb-hub-unsupported-by-qemu/trigger.xml": _OTHER_BUILD,
    "iothread-pool-unsupported-by-qemu/trigger.xml": _OLDER_QEMU % "7.0",
    "iothread-pool-unsupported-by-qemu/trigger-default-iothread.xml": (
        "<defaultiothread> is newer than libvirt 9.0"
    ),
}


def _lint_errors(rule: str, data: bytes, path: Path) -> list[str]:
    linter = build_linter(select=[rule])
    findings = linter.check(Document.parse(data, str(path))).findings
    return [f.message for f in findings if f.severity.value == "error"]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c[0]}/{c[1]}" + (" (no validate)" if len(c) > 2 else "")
)
def test_libvirt_qemu_driver_agrees(embedded, case):
    rule, fixture = case[0], case[1]
    path = RULE_FIXTURES / rule / fixture
    data = embedded.adapt(path.read_bytes())
    errors = _lint_errors(rule, data, path)
    refused = embedded.define_error(data.decode(), validate=NO_VALIDATE not in case)
    if fixture.startswith("trigger"):
        assert refused is not None, f"libvirt defined {rule}/{fixture}"
        assert errors, f"{rule} is silent on {fixture}; libvirt says: {refused}"
        assert any(carries(refused, message) for message in errors), (
            f"libvirt: {refused!r}; {rule}: {errors!r}"
        )
    else:
        assert refused is None, f"libvirt refuses {rule}/{fixture}: {refused}"
        assert not errors, errors


def test_cases_cover_the_rules_fixtures():
    """A fixture is proven here, or its rule (or itself) says why it cannot be."""
    listed = {(c[0], c[1]) for c in CASES}
    for rule, fixture in listed:
        assert (RULE_FIXTURES / rule / fixture).is_file(), (rule, fixture)
    for rule in {c[0] for c in CASES}:
        for path in sorted((RULE_FIXTURES / rule).glob("*.xml")):
            if path.name.endswith(".fixed.xml") or (rule, path.name) in listed:
                continue
            assert f"{rule}/{path.name}" in NOT_PROVABLE_HERE or rule in NOT_PROVABLE_HERE, (
                f"{rule}/{path.name} is neither a case nor explained"
            )


def test_qemu_is_probed_once(embedded):
    """The capabilities cache survives defines: no re-probe (the 70 s-per-define trap)."""
    xml = embedded.adapt((RULE_FIXTURES / "boot-order-invalid" / "clean.xml").read_bytes())
    assert embedded.define_error(xml.decode(), validate=True) is None
    before = embedded.cache_files()
    assert before, "no capabilities cache was written"
    for _ in range(3):
        assert embedded.define_error(xml.decode(), validate=True) is None
    assert embedded.cache_files() == before


def test_a_definition_of_libvirts_own_suite_is_refused_on_define(embedded, corpus):
    """firmware-manual-efi-features.xml: libvirt's test parses it without the flags of a
    define, and accepts it; a real define refuses it, as firmware-feature-conflict says."""
    path = corpus / "domain" / "firmware-manual-efi-features.xml"
    data = embedded.adapt(path.read_bytes())
    refused = embedded.define_error(data.decode(), validate=True)
    assert refused is not None
    errors = _lint_errors("firmware-feature-conflict", data, path)
    assert any(carries(refused, message) for message in errors), (refused, errors)


def test_machine_rewrite_keeps_the_machine_family():
    class Fake(Embedded):
        def __init__(self) -> None:
            self.machines = {"q35": "pc-q35-7.2", "pc": "pc-i440fx-7.2"}

    fake = Fake()
    q35 = fake.adapt(b"<domain><os><type machine='pc-q35-8.2'>hvm</type></os></domain>")
    assert b'machine="pc-q35-7.2"' in q35
    pc = fake.adapt(b"<domain><os><type machine='pc'>hvm</type></os></domain>")
    assert b'machine="pc-i440fx-7.2"' in pc
    bare = fake.adapt(b"<domain/>")
    assert re.search(rb"<type arch=\"x86_64\" machine=\"pc-q35-7.2\">hvm</type>", bare)
    other = fake.adapt(b"<domain><os><type machine='microvm'>hvm</type></os></domain>")
    assert b"microvm" in other


def test_cli_takes_a_host_snapshot_through_the_embedded_driver(embedded, tmp_path):
    """``domxml-lint host snapshot --connect 'qemu:///embed?root=DIR'`` works (the CLI
    registers the event loop the embedded driver needs), and a capabilities cache copied
    from another root is used as it is: no probe in the second process either."""
    from domxml_lint.host import load_host

    root = tmp_path / "embed"
    (root / "etc").mkdir(parents=True)
    shutil.copy2(embedded.root / "etc" / "qemu.conf", root / "etc" / "qemu.conf")
    cache = root / "cache" / "qemu" / "capabilities"
    shutil.copytree(embedded.root / "cache" / "qemu" / "capabilities", cache)
    copied = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.xml")}
    output = tmp_path / "host.xml"
    result = subprocess.run(
        [sys.executable, "-m", "domxml_lint", "host", "snapshot"]
        + ["--connect", f"qemu:///embed?root={root}", "-o", str(output)],
        capture_output=True,
        timeout=300,
        preexec_fn=lambda: os.sched_setaffinity(0, {embedded.cpu}),
    )
    assert result.returncode == 0, result.stderr.decode()
    host = load_host(output)
    assert host.capabilities is not None and host.capabilities.arch == "x86_64"
    caps = host.domain_caps_for("kvm", "x86_64", None)
    assert caps is not None and caps.path is not None and "qemu-system" in caps.path
    assert host.qemu_version is not None
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.xml")} == copied
    # libvirt's own cache of the probed binaries is in the snapshot, as libvirt wrote it.
    assert len(host.qemu_capabilities) == len(copied)
    native = host.qemu_caps_for("x86_64", None)
    assert native is not None and native.emulator == caps.path
    assert str(native.version) == host.qemu_version
    assert {"virtio-scsi-pci", "pcie-root-port", "qemu-xhci"} <= native.flags
    assert native.machine("q35", "kvm") is not None and native.models_for("kvm")


#: Capability checks against the driver's own QEMU (Debian 12's 7.2), through the
#: capabilities libvirt probed and cached for it: (machine, devices, rule, where libvirt
#: says it: at define or when it builds the command line).
CAPABILITY_CASES = [
    ("pc", "<console type='pty'><target type='sclp'/></console>", "DX928", "define"),
    ("pc", "<controller type='usb' index='0' model='vt82c686b-uhci'/>", "DX672", "argv"),
    (
        "q35",
        "<controller type='usb' index='0' model='qemu-xhci'/>"
        "<controller type='scsi' index='0' model='lsilogic'/>"
        "<sound model='ich9'><codec type='micro'/></sound>"
        "<shmem name='s'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>"
        "<input type='keyboard' bus='usb'/><input type='tablet' bus='virtio'/>"
        "<graphics type='vnc' powerControl='yes'/>",
        None,
        None,
    ),
    (
        "q35",
        "<controller type='usb' index='0' model='qemu-xhci'/><hub type='usb'/>"
        "<smartcard mode='host'/><vsock model='virtio'><cid auto='yes'/></vsock>"
        "<memballoon model='virtio' autodeflate='on' freePageReporting='on'/>"
        "<iommu model='intel'/>",
        None,
        None,
    ),
]
CAPABILITY_RULES = [
    "DX928", "DX939", "DX946", "DX947", "DX948", "DX949", "DX955", "DX670", "DX672",
    "DX697", "DX693", "DX486", "DX349", "DX153", "DX154",
    "DX640", "DX642", "DX849", "DX908", "DX950", "DX959", "DX971", "DX975", "DX976", "DX987",
    "DX988", "DX996", "DX161",
]  # fmt: skip


@pytest.mark.parametrize("machine, devices, rule, stage", CAPABILITY_CASES)
def test_capability_checks_agree_with_the_drivers_own_qemu(embedded, machine, devices, rule, stage):
    """The snapshot's cache answers as libvirt does: what it refuses (at define, or when it
    builds QEMU's command line, domainXMLToNative), a capability rule reports with its
    words; what it accepts, none does."""
    from domxml_lint.host import host_from_documents

    cache = embedded.root / "cache" / "qemu" / "capabilities"
    host = host_from_documents(
        embedded.conn.getCapabilities(), *(p.read_bytes() for p in sorted(cache.glob("*.xml")))
    )
    xml = embedded.adapt(
        f"<domain type='kvm'><name>caps</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>".encode()
    )
    refused = embedded.define_error(xml.decode(), validate=True)
    if refused is None:
        try:
            embedded.conn.domainXMLToNative("qemu-argv", xml.decode(), 0)
        except embedded.libvirt.libvirtError as exc:
            refused = exc.get_error_message()
        else:
            assert stage in (None, "define")
    elif stage is not None:
        assert stage == "define", refused
    findings = build_linter(select=CAPABILITY_RULES, host=host).check(Document.parse(xml))
    errors = [f for f in findings.findings if f.severity.value == "error"]
    if rule is None:
        assert refused is None, refused
        assert not errors, [f.message for f in errors]
        return
    assert refused is not None
    assert any(f.code == rule and carries(refused, f.message) for f in errors), (
        refused,
        [f.message for f in errors],
    )
