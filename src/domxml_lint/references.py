"""Where a rule's advice comes from, as links: the tuning guide and libvirt's domain XML docs.

A rule page cites the guide in its *Source* section ("Guide 7.2", "guide
9.3.10"); the seed guide is the Chinese edition, so references give the English
edition's section numbers and titles. Elements a rule runs on (its
``triggers``) and formatdomain sections quoted in its documentation link to
libvirt's domain XML reference. Pages, ``rules --output-format json``, JSON
findings and SARIF all read :func:`rule_references`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._records import NamedTuple

if TYPE_CHECKING:
    from .rule import Rule

GUIDE_TITLE = "Red Hat Enterprise Linux 7 Virtualization Tuning and Optimization Guide"
GUIDE_URL = (
    "https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/7/html/"
    "virtualization_tuning_and_optimization_guide/index"
)
FORMATDOMAIN_URL = "https://libvirt.org/formatdomain.html"

#: The guide's chapters and sections, numbered as in both editions, titled as in the English one.
GUIDE_SECTIONS = {
    "1": "Introduction",
    "1.1": "Why Performance Optimization Matters in Virtualization",
    "1.2": "KVM Performance Architecture Overview",
    "1.3": "Virtualization Performance Features and Improvements",
    "2": "Performance Monitoring Tools",
    "2.1": "perf kvm",
    "2.2": "Virtual Performance Monitoring Unit (vPMU)",
    "2.3": "Monitoring Performance in Virtual Machine Manager",
    "3": "Optimizing Virtualization Performance with virt-manager",
    "3.1": "Operating System Details and Devices",
    "3.1.1": "Specifying Guest Virtual Machine Details",
    "3.1.2": "Remove Unused Devices",
    "3.2": "CPU Performance Options",
    "3.2.1": "Option: Available CPUs",
    "3.2.2": "Option: CPU Configuration",
    "3.2.3": "Option: CPU Topology",
    "3.3": "Virtual Disk Performance Options",
    "4": "tuned and tuned-adm",
    "5": "Networking",
    "5.1": "Networking Tuning Tips",
    "5.2": "Virtio and vhost_net",
    "5.3": "Device Assignment and SR-IOV",
    "5.4": "Network Tuning Techniques",
    "5.4.1": "Bridge Zero Copy Transmit",
    "5.4.2": "Multi-Queue virtio-net",
    "5.4.2.1": "Configuring Multi-Queue virtio-net",
    "5.5": "Batching Network Packets",
    "6": "I/O Scheduling",
    "6.1": "I/O Scheduling with Red Hat Enterprise Linux as a Virtualization Host",
    "6.2": "I/O Scheduling with Red Hat Enterprise Linux as a Virtualization Guest",
    "6.2.1": "Configuring the I/O Scheduler for Red Hat Enterprise Linux 7",
    "7": "Block I/O",
    "7.1": "Block I/O Tuning",
    "7.2": "Caching",
    "7.3": "I/O Mode",
    "7.4": "Block I/O Tuning Techniques",
    "7.4.1": "Disk I/O Throttling",
    "7.4.2": "Multi-Queue virtio-scsi",
    "7.4.2.1": "Configuring Multi-Queue virtio-scsi",
    "8": "Memory",
    "8.1": "Memory Tuning Tips",
    "8.2": "Memory Tuning on Virtual Machines",
    "8.2.1": "Memory Monitoring Tools",
    "8.2.2": "Memory Tuning with virsh",
    "8.2.3": "Huge Pages and Transparent Huge Pages",
    "8.2.3.1": "Configuring Transparent Huge Pages",
    "8.2.3.2": "Configuring Static Huge Pages",
    "8.2.3.3": "Enabling 1 GB huge pages for guests at boot or runtime",
    "8.3": "Kernel Same-page Merging (KSM)",
    "8.3.1": "The KSM Service",
    "8.3.2": "The KSM Tuning Service",
    "8.3.3": "KSM Variables and Monitoring",
    "8.3.4": "Deactivating KSM",
    "9": "NUMA",
    "9.1": "NUMA Memory Allocation Policies",
    "9.2": "Automatic NUMA Balancing",
    "9.2.1": "Configuring Automatic NUMA Balancing",
    "9.3": "libvirt NUMA Tuning",
    "9.3.1": "Monitoring Memory per host NUMA Node",
    "9.3.2": "NUMA vCPU Pinning",
    "9.3.3": "Domain Processes",
    "9.3.4": "Domain vCPU Threads",
    "9.3.5": "Using Cache Allocation Technology to Improve Performance",
    "9.3.6": "Using emulatorpin",
    "9.3.7": "Tuning vCPU Pinning with virsh",
    "9.3.8": "Tuning Domain Process CPU Pinning with virsh",
    "9.3.9": "Tuning Domain Process Memory Policy with virsh",
    "9.3.10": "Guest NUMA Topology",
    "9.3.11": "NUMA Node Locality for PCI Devices",
    "9.4": "NUMA-Aware Kernel SamePage Merging (KSM)",
}

#: Sections of libvirt's formatdomain page: anchor -> title (tests check the anchors
#: against the formatdomain.html that libvirt-doc installs).
FORMATDOMAIN_SECTIONS = {
    "general-metadata": "General metadata",
    "operating-system-booting": "Operating system booting",
    "bios-bootloader": "BIOS bootloader",
    "host-bootloader": "Host bootloader",
    "direct-kernel-boot": "Direct kernel boot",
    "smbios-system-information": "SMBIOS System Information",
    "cpu-allocation": "CPU Allocation",
    "iothreads-allocation": "IOThreads Allocation",
    "cpu-tuning": "CPU Tuning",
    "memory-allocation": "Memory Allocation",
    "memory-backing": "Memory Backing",
    "memory-tuning": "Memory Tuning",
    "numa-node-tuning": "NUMA Node Tuning",
    "block-i-o-tuning": "Block I/O Tuning",
    "resource-partitioning": "Resource partitioning",
    "cpu-model-and-topology": "CPU model and topology",
    "events-configuration": "Events configuration",
    "power-management": "Power Management",
    "hypervisor-features": "Hypervisor features",
    "time-keeping": "Time keeping",
    "performance-monitoring-events": "Performance monitoring events",
    "devices": "Devices",
    "hard-drives-floppy-disks-cdroms": "Hard drives, floppy disks, CDROMs",
    "filesystems": "Filesystems",
    "device-addresses": "Device Addresses",
    "virtio-related-options": "Virtio-related options",
    "controllers": "Controllers",
    "device-leases": "Device leases",
    "host-device-assignment": "Host device assignment",
    "redirected-devices": "Redirected devices",
    "smartcard-devices": "Smartcard devices",
    "network-interfaces": "Network interfaces",
    "setting-the-nic-model": "Setting the NIC model",
    "setting-nic-driver-specific-options": "Setting NIC driver-specific options",
    "teaming-a-virtio-hostdev-nic-pair": "Teaming a virtio/hostdev NIC pair",
    "vhost-user-interface": "vhost-user interface",
    "input-devices": "Input devices",
    "hub-devices": "Hub devices",
    "graphical-framebuffers": "Graphical framebuffers",
    "video-devices": "Video devices",
    "consoles-serial-parallel-channel-devices": "Consoles, serial, parallel & channel devices",
    "sound-devices": "Sound devices",
    "audio-backends": "Audio backends",
    "watchdog-device": "Watchdog device",
    "memory-balloon-device": "Memory balloon device",
    "random-number-generator-device": "Random number generator device",
    "tpm-device": "TPM device",
    "panic-device": "panic device",
    "nvram-device": "NVRAM device",
    "shared-memory-device": "Shared memory device",
    "memory-devices": "Memory devices",
    "iommu-devices": "IOMMU devices",
    "vsock": "Vsock",
    "security-label": "Security label",
    "key-wrap": "Key Wrap",
    "launch-security": "Launch Security",
    "container-boot": "Container boot",
}

# Elements whose name says which section documents them. Names used in several
# places (driver, source, target, model, feature, boot, nvram) are left out.
_ELEMENT_SECTIONS = (
    ("name", "uuid", "genid", "title", "description", "metadata", "general-metadata"),
    (
        "os",
        "loader",
        "firmware",
        "kernel",
        "initrd",
        "cmdline",
        "bootmenu",
        "bios",
        "smbios",
        "operating-system-booting",
    ),
    ("sysinfo", "smbios-system-information"),
    ("bootloader", "bootloader_args", "host-bootloader"),
    ("vcpu", "vcpus", "cpu-allocation"),
    ("iothreads", "iothreadids", "iothread", "iothreads-allocation"),
    (
        "cputune",
        "vcpupin",
        "emulatorpin",
        "iothreadpin",
        "vcpusched",
        "iothreadsched",
        "emulatorsched",
        "cachetune",
        "memorytune",
        "cpu-tuning",
    ),
    ("memory", "currentMemory", "maxMemory", "memory-allocation"),
    ("memoryBacking", "hugepages", "nosharepages", "locked", "memory-backing"),
    ("memtune", "hard_limit", "soft_limit", "swap_hard_limit", "memory-tuning"),
    ("numatune", "memnode", "numa-node-tuning"),
    ("blkiotune", "block-i-o-tuning"),
    ("resource", "resource-partitioning"),
    ("cpu", "topology", "numa", "cell", "maxphysaddr", "cpu-model-and-topology"),
    ("on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "events-configuration"),
    ("pm", "power-management"),
    (
        "features",
        "hyperv",
        "kvm",
        "acpi",
        "apic",
        "smm",
        "ioapic",
        "gic",
        "vmport",
        "pmu",
        "vmcoreinfo",
        "async-teardown",
        "ps2",
        "tcg",
        "htm",
        "ccf-assist",
        "cfpc",
        "sbbc",
        "ibs",
        "hpt",
        "tseg",
        "ras",
        "pvspinlock",
        "privnet",
        "hap",
        "viridian",
        "pae",
        "msrs",
        "nested-hv",
        "hypervisor-features",
    ),
    ("clock", "timer", "time-keeping"),
    ("perf", "performance-monitoring-events"),
    ("emulator", "devices"),
    (
        "disk",
        "iotune",
        "shareable",
        "transient",
        "blockio",
        "geometry",
        "hard-drives-floppy-disks-cdroms",
    ),
    ("filesystem", "filesystems"),
    ("address", "device-addresses"),
    ("controller", "controllers"),
    ("lease", "device-leases"),
    ("hostdev", "host-device-assignment"),
    ("redirdev", "redirected-devices"),
    ("smartcard", "smartcard-devices"),
    ("interface", "network-interfaces"),
    ("input", "input-devices"),
    ("hub", "hub-devices"),
    ("graphics", "graphical-framebuffers"),
    ("video", "video-devices"),
    ("serial", "parallel", "console", "channel", "consoles-serial-parallel-channel-devices"),
    ("sound", "sound-devices"),
    ("audio", "audio-backends"),
    ("watchdog", "watchdog-device"),
    ("memballoon", "memory-balloon-device"),
    ("rng", "random-number-generator-device"),
    ("tpm", "tpm-device"),
    ("panic", "panic-device"),
    ("shmem", "shared-memory-device"),
    ("iommu", "iommu-devices"),
    ("vsock", "vsock"),
    ("seclabel", "security-label"),
    ("keywrap", "key-wrap"),
    ("launchSecurity", "launch-security"),
)
ELEMENT_SECTIONS = {tag: group[-1] for group in _ELEMENT_SECTIONS for tag in group[:-1]}

# The libvirt functions a rule reproduces name the part of the domain they check
# (qemuValidateDomainDeviceDefDiskFrontend: a disk). First match wins; more
# specific names come before the words they contain.
_FUNCTION_SECTIONS = (
    ("LaunchSecurity", "launch-security"),
    ("SEV", "launch-security"),
    ("Seclabel", "security-label"),
    ("SecurityLabel", "security-label"),
    ("Sysinfo", "smbios-system-information"),
    ("Hostdev", "host-device-assignment"),
    ("Controller", "controllers"),
    ("Address", "device-addresses"),
    ("Disk", "hard-drives-floppy-disks-cdroms"),
    ("StorageSource", "hard-drives-floppy-disks-cdroms"),
    ("Blkio", "block-i-o-tuning"),
    ("Iotune", "hard-drives-floppy-disks-cdroms"),
    ("Net", "network-interfaces"),
    ("Chr", "consoles-serial-parallel-channel-devices"),
    ("Serial", "consoles-serial-parallel-channel-devices"),
    ("Console", "consoles-serial-parallel-channel-devices"),
    ("Graphics", "graphical-framebuffers"),
    ("Video", "video-devices"),
    ("Input", "input-devices"),
    ("Sound", "sound-devices"),
    ("Audio", "audio-backends"),
    ("TPM", "tpm-device"),
    ("Shmem", "shared-memory-device"),
    ("Watchdog", "watchdog-device"),
    ("Panic", "panic-device"),
    ("RNG", "random-number-generator-device"),
    ("Vsock", "vsock"),
    ("Memballoon", "memory-balloon-device"),
    ("IOMMU", "iommu-devices"),
    ("FS", "filesystems"),
    ("Smartcard", "smartcard-devices"),
    ("Redirdev", "redirected-devices"),
    ("Hub", "hub-devices"),
    ("Lease", "device-leases"),
    ("MemoryDevice", "memory-devices"),
    ("DeviceDefMemory", "memory-devices"),
    ("Memtune", "memory-tuning"),
    ("MemoryBacking", "memory-backing"),
    ("Hugepages", "memory-backing"),
    ("Numatune", "numa-node-tuning"),
    ("Numa", "cpu-model-and-topology"),
    ("Cputune", "cpu-tuning"),
    ("IOThread", "iothreads-allocation"),
    ("Vcpu", "cpu-allocation"),
    ("CPU", "cpu-model-and-topology"),
    ("Cpu", "cpu-model-and-topology"),
    ("Timer", "time-keeping"),
    ("Clock", "time-keeping"),
    ("Features", "hypervisor-features"),
    ("Feature", "hypervisor-features"),
    ("Boot", "operating-system-booting"),
    ("Loader", "operating-system-booting"),
    ("NVRam", "operating-system-booting"),
    ("Firmware", "operating-system-booting"),
    ("OS", "operating-system-booting"),
    ("Lifecycle", "events-configuration"),
    ("PM", "power-management"),
    ("Perf", "performance-monitoring-events"),
    ("Resource", "resource-partitioning"),
    ("Keywrap", "key-wrap"),
)


def function_section(function: str) -> str | None:
    """The formatdomain section of what a libvirt function checks, if its name says."""
    for word, anchor in _FUNCTION_SECTIONS:
        if word in function:
            return anchor
    return None


# "Guide 7.2", "guide 9.3.10", "guide chapter 5", "the guide's example (9.3.2)".
_GUIDE_CITATION = re.compile(r"\b[Gg]uide(?:'s example \(| chapter | section | §| )(\d+(?:\.\d+)*)")


class Reference(NamedTuple):
    """A link a rule's page gives: what it is, and where."""

    title: str
    url: str


def guide_sections(text: str) -> list[str]:
    """The guide section numbers a text cites, in order, without repeats."""
    found: list[str] = []
    for match in _GUIDE_CITATION.finditer(text):
        number = match.group(1).rstrip(".")
        if number not in found:
            found.append(number)
    return found


def guide_reference(number: str) -> Reference:
    title = GUIDE_SECTIONS.get(number)
    label = f"§{number} {title}" if title else f"§{number}"
    return Reference(f"{GUIDE_TITLE}, {label}", GUIDE_URL)


def formatdomain_reference(anchor: str) -> Reference:
    return Reference(
        f"libvirt: Domain XML format, {FORMATDOMAIN_SECTIONS[anchor]}",
        f"{FORMATDOMAIN_URL}#{anchor}",
    )


def rule_basis(rule: Rule) -> str:
    """What a rule rests on: ``libvirt`` (it reproduces libvirt's or QEMU's refusal),
    ``guide`` (the tuning guide's advice) or ``other`` (libvirt's or QEMU's documentation,
    domxml-lint's own suppressions)."""
    if rule.libvirt:
        return "libvirt"
    return "guide" if guide_sections(rule.doc) else "other"


def rule_references(rule: Rule) -> tuple[Reference, ...]:
    """The guide sections the rule cites, then the libvirt sections of what it discusses:
    quoted in its documentation, the elements it runs on, else what its libvirt
    functions check."""
    references = [guide_reference(n) for n in guide_sections(rule.doc)]
    anchors: list[str] = []
    doc = " ".join(rule.doc.split())  # a quoted title may be wrapped across lines
    for anchor, title in FORMATDOMAIN_SECTIONS.items():
        if f'"{title}"' in doc:
            anchors.append(anchor)
    for tag in sorted(rule.triggers or ()):
        section = ELEMENT_SECTIONS.get(tag)
        if section is not None and section not in anchors:
            anchors.append(section)
    if not anchors:
        for function in rule.libvirt:
            section = function_section(function)
            if section is not None and section not in anchors:
                anchors.append(section)
    references += [formatdomain_reference(a) for a in anchors]
    return tuple(references)
