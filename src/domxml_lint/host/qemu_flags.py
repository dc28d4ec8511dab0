"""Which QEMU release first has each capability flag libvirt 10.7's checks test.

libvirt names what a QEMU binary supports with flags (``QEMU_CAPS_*`` in
``src/qemu/qemu_capabilities.c``), and a definition check such as "virtio-sound
controller is not supported in this QEMU binary" fires when the binary lacks
one. A host snapshot holding libvirt's capabilities cache says exactly which
flags its QEMU has (:mod:`.qemu_caps`). Without one, this table answers from
the QEMU version (``qemu-version`` in the configuration, or the snapshot's
hypervisor version) and the guest's architecture:

- a QEMU older than a flag's first release lacks it, whatever its build;
- a flag that only exists on some architectures (the s390 SCLP consoles, the
  pSeries devices) is missing from every other architecture's QEMU;
- a flag that depends on how QEMU was built (a device a distribution may leave
  out, an optional library such as virglrenderer or liburing, a Linux-only
  feature) is unknown from the version alone: only a snapshot can say.

Provenance. The flag names are libvirt's. The releases were read from
libvirt's test data (``tests/qemucapabilitiesdata/caps_<version>_<arch>.xml``
in libvirt's repository: x86_64 5.2, 6.0, 6.2, 7.2, 8.0, 8.1 and 9.1; aarch64
7.0 and 8.2; s390x 8.2; ppc64 7.1), narrowed with QEMU's release notes
(https://wiki.qemu.org/ChangeLog) where two test files leave a gap: ``set-action``
is in 6.0 and not 5.2; ``blockdev.nbd.tls-hostname`` and ``display-dbus`` came
with 7.0 (aarch64 7.0 has the first); ``virtio-sound`` and virtio-mem's
``dynamic-memslots`` with 8.2, virtio-blk's ``iothread-vq-mapping`` with 9.0;
``vt82c686b-usb-uhci`` left qemu-system-x86_64 in 6.0 (the VIA south bridge
became a MIPS/PowerPC board part). For the peripheral and IOMMU flags, x86_64
5.2, 6.0, 6.1, 6.2, 7.0, 7.1 and 9.1: ``pvpanic-pci`` and
``vhost-user-fs.bootindex`` are in 6.0 and not 5.2, ``sev-guest-kernel-hashes``
in 6.2 and not 6.1, ``virtio-iommu.boot-bypass`` and ``acpi-erst`` in 7.0 and
not 6.2, ``iothread.thread-pool-max`` and ``intel-iommu.dma-translation`` in
7.1 and not 7.0; ``usb-host.guest-resets-all`` is already in 5.2. No data file
is copied here. QEMU 5.2 is the oldest release libvirt 10.7 accepts;
:data:`ANY_SUPPORTED` marks flags every earlier release had too.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._records import NamedTuple
from ..versions import Version

#: libvirt 10.7's oldest QEMU: a flag "since" this is in every release libvirt accepts.
ANY_SUPPORTED = Version(5, 2, 0)

X86 = frozenset({"i686", "x86_64"})
ARM = frozenset({"armv6l", "armv7l", "aarch64"})
PPC64 = frozenset({"ppc64", "ppc64le"})
S390 = frozenset({"s390x"})

#: Why a device flag is unknown from the version: QEMU's build configuration
#: (``--without-default-devices``, a distribution's device list) may leave it out.
DEVICE = "a device a QEMU build may leave out"
LINUX = "Linux-only: a QEMU built for another system lacks it"


def _frozen(value: Mapping[str, Version]) -> Mapping[str, Version]:
    import types

    return types.MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class QemuFlag:
    """One flag: what it is, its first release, where it exists, what its build needs.

    ``arches``: the only architectures whose QEMU can have it (None: any).
    ``arch_since``: a later first release on some architectures. ``gone``: the
    first release without it, per architecture. ``build``: why the build
    decides (None: every build of a release has it).
    """

    name: str
    what: str
    since: Version = ANY_SUPPORTED
    arches: frozenset[str] | None = None
    arch_since: Mapping[str, Version] = attrs.field(factory=dict, converter=_frozen)
    gone: Mapping[str, Version] = attrs.field(factory=dict, converter=_frozen)
    build: str | None = None


class FlagAnswer(NamedTuple):
    """Whether a QEMU has a flag (None: unknown) and why, in words for a finding or a note."""

    has: bool | None
    why: str


def _v(text: str) -> Version:
    major, minor = text.split(".")
    return Version(int(major), int(minor))


def _flags(*flags: QemuFlag) -> dict[str, QemuFlag]:
    return {flag.name: flag for flag in flags}


FLAGS: dict[str, QemuFlag] = _flags(
    # -- disks and storage sources (qemu_domain.c, qemu_validate.c, qemu_process.c)
    QemuFlag("pr-manager-helper", "the pr-manager-helper object", build=LINUX),
    QemuFlag("rbd-encryption", "librbd encryption", _v("6.1"), build="the rbd driver (librbd)"),
    QemuFlag(
        "rbd-encryption-layering",
        "librbd encryption layering",
        _v("8.0"),
        build="the rbd driver (librbd)",
    ),
    QemuFlag(
        "rbd-encryption-luks-any",
        "librbd luks-any encryption",
        _v("8.0"),
        build="the rbd driver (librbd)",
    ),
    QemuFlag("blockdev.nbd.tls-hostname", "the NBD tls-hostname option", _v("7.0")),
    QemuFlag("virtio-blk.iothread-mapping", "virtio-blk's iothread-vq-mapping property", _v("9.0")),
    QemuFlag("scsi-block", "the scsi-block device", build=LINUX),
    QemuFlag("usb-storage", "the usb-storage device", build=DEVICE),
    QemuFlag("aio.io_uring", "io_uring asynchronous I/O", build="liburing"),
    QemuFlag("set-action", "the set-action QMP command", _v("6.0")),
    QemuFlag("qcow2-discard-no-unref", "qcow2's discard-no-unref option", _v("8.1")),
    QemuFlag("vhost-user-blk", "the vhost-user-blk device", build=LINUX),
    QemuFlag(
        "virtio-blk-vhost-vdpa",
        "the virtio-blk-vhost-vdpa block driver",
        _v("8.1"),
        build="libblkio",
    ),
    QemuFlag("drive-nvme", "the userspace NVMe block driver", build=LINUX),
    # -- controllers (qemu_validate.c, qemu_command.c)
    QemuFlag("lsi", "the lsi53c895a SCSI controller", build=DEVICE),
    QemuFlag("virtio-scsi-pci", "the virtio-scsi controller", build=DEVICE),
    QemuFlag("mptsas1068", "the mptsas1068 SCSI controller", build=DEVICE),
    QemuFlag("megasas", "the megasas SCSI controller", build=DEVICE),
    QemuFlag("pvscsi", "the pvscsi SCSI controller", build=DEVICE),
    QemuFlag("ncr53c90", "the built-in esp (NCR53C90) SCSI controller", build=DEVICE),
    QemuFlag("dc390", "the dc390 SCSI controller", build=DEVICE),
    QemuFlag("am53c974", "the am53c974 SCSI controller", build=DEVICE),
    QemuFlag("ich9-ahci", "the ich9-ahci SATA controller", build=DEVICE),
    QemuFlag("pci-bridge", "the pci-bridge device", build=DEVICE),
    QemuFlag("dmi-to-pci-bridge", "the i82801b11-bridge device", build=DEVICE),
    QemuFlag("ioh3420", "the ioh3420 device", build=DEVICE),
    QemuFlag("pcie-root-port", "the pcie-root-port device", build=DEVICE),
    QemuFlag("x3130-upstream", "the x3130-upstream device", build=DEVICE),
    QemuFlag("xio3130-downstream", "the xio3130-downstream device", build=DEVICE),
    QemuFlag("pxb", "the pxb device", build=DEVICE),
    QemuFlag("pxb-pcie", "the pxb-pcie device", build=DEVICE),
    QemuFlag("pcie-pci-bridge", "the pcie-pci-bridge device", build=DEVICE),
    QemuFlag("spapr-pci-host-bridge", "the spapr-pci-host-bridge device", arches=PPC64),
    QemuFlag("piix3-usb-uhci", "the piix3-usb-uhci device", build=DEVICE),
    QemuFlag("piix4-usb-uhci", "the piix4-usb-uhci device", build=DEVICE),
    QemuFlag("usb-ehci", "the usb-ehci device", build=DEVICE),
    QemuFlag("ich9-usb-ehci1", "the ich9-usb-ehci1 device", build=DEVICE),
    QemuFlag(
        "vt82c686b-usb-uhci",
        "the vt82c686b-usb-uhci device",
        gone={"x86_64": _v("6.0"), "i686": _v("6.0")},
        build=DEVICE,
    ),
    QemuFlag("pci-ohci", "the pci-ohci device", build=DEVICE),
    QemuFlag("nec-usb-xhci", "the nec-usb-xhci device", build=DEVICE),
    QemuFlag("qemu-xhci", "the qemu-xhci device", build=DEVICE),
    # -- device addresses
    QemuFlag("acpi-index", "the acpi-index property of PCI devices", _v("6.0")),
    # -- character devices
    QemuFlag("s390-sclp", "the sclpconsole device", arches=S390),
    QemuFlag("sclplmconsole", "the sclplmconsole device", arches=S390),
    QemuFlag("chardev.qemu-vdagent", "the qemu-vdagent chardev", _v("6.1"), build="spice-protocol"),
    QemuFlag("isa-serial", "the isa-serial device", build=DEVICE),
    QemuFlag("usb-serial", "the usb-serial device", build=DEVICE),
    QemuFlag("pci-serial", "the pci-serial device", build=DEVICE),
    QemuFlag("spapr-vty", "the spapr-vty device", arches=PPC64),
    QemuFlag("pl011", "the pl011 device", arches=ARM),
    # -- graphics and video
    QemuFlag("vhost-user-gpu", "the vhost-user-gpu device", build=LINUX),
    QemuFlag(
        "virtio-gpu.virgl",
        "virtio-gpu's virgl property",
        gone={arch: _v("6.1") for arch in ("x86_64", "i686", "aarch64", "ppc64", "s390x")},
        build="virglrenderer",
    ),
    QemuFlag("virtio-gpu-gl-pci", "the virtio-gpu-gl-pci device", _v("6.1"), build="virglrenderer"),
    QemuFlag("virtio-vga-gl", "the virtio-vga-gl device", _v("6.1"), build="virglrenderer"),
    QemuFlag("virtio-gpu.blob", "virtio-gpu's blob property", _v("6.1")),
    QemuFlag("spice-gl", "SPICE OpenGL", build="SPICE and OpenGL"),
    QemuFlag("spice-rendernode", "SPICE's rendernode option", build="SPICE and OpenGL"),
    QemuFlag("vnc-power-control", "VNC's power-control option", _v("6.0")),
    QemuFlag("egl-headless.rendernode", "egl-headless's rendernode option", build="OpenGL"),
    # -- input
    QemuFlag("usb-kbd", "the usb-kbd device", build=DEVICE),
    QemuFlag("virtio-keyboard", "the virtio-keyboard device", build=DEVICE),
    QemuFlag("virtio-mouse", "the virtio-mouse device", build=DEVICE),
    QemuFlag("virtio-tablet", "the virtio-tablet device", build=DEVICE),
    QemuFlag("virtio-input-host", "the virtio-input-host device", build=LINUX),
    QemuFlag("virtio-keyboard-ccw", "the virtio-keyboard-ccw device", arches=S390),
    QemuFlag("virtio-mouse-ccw", "the virtio-mouse-ccw device", arches=S390),
    QemuFlag("virtio-tablet-ccw", "the virtio-tablet-ccw device", arches=S390),
    # -- sound and audio
    QemuFlag("display-dbus", "the D-Bus display", _v("7.0"), build="D-Bus (GIO)"),
    QemuFlag("usb-audio", "the usb-audio device", build=DEVICE),
    QemuFlag("ich9-intel-hda", "the ich9-intel-hda device", build=DEVICE),
    QemuFlag("virtio-sound", "the virtio-sound device", _v("8.2"), build=DEVICE),
    QemuFlag("hda-duplex", "the hda-duplex codec", build=DEVICE),
    QemuFlag("hda-micro", "the hda-micro codec", build=DEVICE),
    QemuFlag("hda-output", "the hda-output codec", build=DEVICE),
    # -- shared memory
    QemuFlag("ivshmem-plain", "the ivshmem-plain device", build=LINUX),
    QemuFlag("ivshmem-doorbell", "the ivshmem-doorbell device", build=LINUX),
    # -- memory devices and backends
    QemuFlag("pc-dimm", "the pc-dimm device", build=DEVICE),
    QemuFlag("nvdimm", "the nvdimm device", build=DEVICE),
    QemuFlag("virtio-pmem-pci", "the virtio-pmem-pci device", build=DEVICE),
    QemuFlag("virtio-mem-pci", "the virtio-mem-pci device", build=DEVICE),
    QemuFlag(
        "virtio-mem-pci.dynamic-memslots", "virtio-mem's dynamic-memslots property", _v("8.2")
    ),
    QemuFlag("memory-backend-file.pmem", "memory-backend-file's pmem property", build="libpmem"),
    # -- CPUs
    QemuFlag("smp-clusters", "-smp clusters", _v("7.0")),
    # -- IOMMU (qemuValidateDomainDeviceDefIOMMU)
    QemuFlag("intel-iommu", "the intel-iommu device", arches=X86, build=DEVICE),
    QemuFlag("virtio-iommu-pci", "the virtio-iommu-pci device", build=DEVICE),
    QemuFlag(
        "virtio-iommu.boot-bypass", "virtio-iommu's boot-bypass property", _v("7.0"), build=DEVICE
    ),
    QemuFlag(
        "intel-iommu.dma-translation",
        "intel-iommu's dma-translation property",
        _v("7.1"),
        arches=X86,
        build=DEVICE,
    ),
    # -- IOThreads
    QemuFlag("iothread.thread-pool-max", "the iothread object's thread-pool-min/max", _v("7.1")),
    # -- panic, pstore, vsock, memballoon
    QemuFlag("pvpanic-pci", "the pvpanic-pci device", _v("6.0"), build=DEVICE),
    QemuFlag("acpi-erst", "the acpi-erst device", _v("7.0"), build=DEVICE),
    QemuFlag("vhost-vsock", "the vhost-vsock device", build=LINUX),
    # -- vhost back ends of the kernel
    QemuFlag("netdev.vhost-vdpa", "the vhost-vdpa network back end", build=LINUX),
    QemuFlag("vhost-scsi", "the vhost-scsi device", build=LINUX),
    QemuFlag(
        "virtio-balloon-pci.deflate-on-oom",
        "virtio-balloon's deflate-on-oom property",
        build="the virtio-balloon device, which a QEMU build may leave out",
    ),
    QemuFlag(
        "virtio-balloon.free-page-reporting",
        "virtio-balloon's free-page-reporting property",
        build="the virtio-balloon device, which a QEMU build may leave out",
    ),
    # -- filesystems
    QemuFlag("fsdev.multidevs", "-fsdev's multidevs option", build="VirtFS (9p)"),
    QemuFlag("vhost-user-fs", "the vhost-user-fs device", build=LINUX),
    QemuFlag(
        "vhost-user-fs.bootindex", "vhost-user-fs's bootindex property", _v("6.0"), build=LINUX
    ),
    QemuFlag("usb-mtp", "the usb-mtp device", build=DEVICE),
    # -- timers
    QemuFlag(
        "kvm-pit-lost-tick-policy",
        "kvm-pit's lost_tick_policy property",
        arches=X86,
        build="KVM (the kvm-pit device exists only in QEMU built with KVM)",
    ),
    # -- launch security
    QemuFlag(
        "sev-guest-kernel-hashes",
        "sev-guest's kernel-hashes property",
        _v("6.2"),
        arches=X86,
        build="SEV support (Linux KVM)",
    ),
    # -- smartcards, USB devices
    QemuFlag("ccid-emulated", "the ccid-card-emulated device", build="libcacard"),
    QemuFlag("ccid-passthru", "the ccid-card-passthru device", build=DEVICE),
    QemuFlag("usb-hub", "the usb-hub device", build=DEVICE),
    QemuFlag(
        "usb-host.guest-resets-all",
        "usb-host's guest-resets-all property",
        build="libusb (the usb-host device)",
    ),
)


def flag_by_version(name: str, version: Version | None, arch: str | None) -> FlagAnswer:
    """Whether a QEMU of ``version`` for ``arch`` has flag ``name``, from the table alone.

    False only where no build of that release can have it; True only where
    every build has it; None (unknown) otherwise, with the reason.
    """
    flag = FLAGS.get(name)
    if flag is None:
        return FlagAnswer(None, f"domxml-lint's QEMU table does not know {name!r}")
    if arch is not None and flag.arches is not None and arch not in flag.arches:
        return FlagAnswer(False, f"QEMU for {arch} lacks {flag.what}")
    if version is None:
        if flag.build is not None and flag.since <= ANY_SUPPORTED and not flag.gone:
            return FlagAnswer(None, f"{flag.what} depends on how QEMU was built ({flag.build})")
        return FlagAnswer(None, f"the QEMU version is unknown (needed for {flag.what})")
    if arch is not None and arch in flag.gone and version >= flag.gone[arch]:
        gone = flag.gone[arch]
        return FlagAnswer(
            False,
            f"QEMU {_short(version)} for {arch} lacks {flag.what} (removed in QEMU {_short(gone)})",
        )
    since = flag.arch_since.get(arch or "", flag.since)
    if version < since and not _candidate_of(version, since):
        return FlagAnswer(
            False, f"QEMU {_short(version)} lacks {flag.what} (added in QEMU {_short(since)})"
        )
    if version < since:
        return FlagAnswer(None, f"QEMU {version} is a development version before {since}")
    if flag.build is not None:
        return FlagAnswer(None, f"{flag.what} depends on how QEMU was built ({flag.build})")
    if flag.arches is not None and arch is None:
        return FlagAnswer(None, f"the guest's architecture is unknown (needed for {flag.what})")
    if flag.gone and arch is None:
        return FlagAnswer(None, f"the guest's architecture is unknown (needed for {flag.what})")
    return FlagAnswer(True, f"QEMU {_short(version)} has {flag.what}")


def _candidate_of(version: Version, since: Version) -> bool:
    """A development or release-candidate build (micro 50 and above) of the release before
    ``since``, which may already have what ``since`` brought."""
    if version.micro < 50:
        return False
    following = (
        Version(version.major, version.minor + 1)
        if version.minor < 2
        else Version(version.major + 1, 0)
    )
    return following >= since


def _short(version: Version) -> str:
    return f"{version.major}.{version.minor}" + (f".{version.micro}" if version.micro else "")
