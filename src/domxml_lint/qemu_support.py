"""What the guest's QEMU supports: facts about the guest and the QEMU that would run it.

Capability checks ask "does this guest's QEMU have flag F?" (libvirt's
``virQEMUCapsGet``) through ``ctx.qemu_lacks(F)``. The answer comes, in order:

1. from libvirt's capabilities cache in the host snapshot, for the binary that
   runs the guest (its ``<emulator>``, else the one the capabilities name for
   its arch): exact, whatever the build;
2. from the QEMU version (``qemu-version`` in the configuration, else the
   snapshot's hypervisor version) and the guest's arch, through the table of
   :mod:`domxml_lint.host.qemu_flags`: only where no build of that release can
   have the flag (too old, wrong architecture), or every build has it;
3. else unknown: the check stays silent and ``-v`` says why.

A check that only asks through this needs no snapshot: ``qemu-version = "8.1"``
in the configuration is enough for the version-bound flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .host.qemu_flags import FlagAnswer, flag_by_version

if TYPE_CHECKING:
    from .facts import DomainFacts
    from .host import Host
    from .host.qemu_caps import QemuCapabilities
    from .versions import Version, Versions


class QemuSupport:
    """The guest's QEMU as far as it is known: a binary's probed capabilities, or a version.

    ``caps`` is libvirt's cache document of the guest's binary (None without
    one); ``version`` the QEMU version the table answers from; ``trusted``
    whether a flag the cache lacks is missing for the libvirt being checked (a
    cache written by an older libvirt than the one the checks follow lacks the
    flags that libvirt learned later).
    """

    def __init__(
        self,
        caps: QemuCapabilities | None,
        version: Version | None,
        arch: str | None,
        *,
        trusted: bool = True,
        no_caps_reason: str = "",
    ) -> None:
        self.caps = caps
        self.version = version
        self.arch = arch
        self.trusted = trusted
        self.no_caps_reason = no_caps_reason

    def flag(self, name: str) -> FlagAnswer:
        """Whether the guest's QEMU has flag ``name`` (None: unknown), and why."""
        caps = self.caps
        if caps is not None:
            where = _describe(caps)
            if name in caps.flags:
                return FlagAnswer(True, f"{where} have '{name}'")
            if self.trusted:
                return FlagAnswer(False, f"{where} lack '{name}'")
        answer = flag_by_version(name, self.version, self.arch)
        if caps is not None and answer.has is not True:
            # An older libvirt's cache: only the table can say the flag is missing.
            libvirt = caps.libvirt_version
            reason = (
                f"{_describe(caps)} was written by libvirt {libvirt}, older than the libvirt "
                f"checked, which may know '{name}' where that one did not"
            )
            return answer if answer.has is False else FlagAnswer(None, reason)
        if answer.has is None and self.no_caps_reason:
            return FlagAnswer(None, f"{answer.why}; {self.no_caps_reason}")
        return answer

    def any_flag(self, *names: str) -> FlagAnswer:
        """Whether the guest's QEMU has at least one of ``names``: False only when it
        certainly lacks all of them."""
        caps = self.caps
        if caps is not None and self.trusted and not caps.flags.intersection(names):
            listed = ", ".join(f"'{name}'" for name in names[:-1]) + f" or '{names[-1]}'"
            return FlagAnswer(False, f"{_describe(caps)} have none of {listed}")
        answers = [self.flag(name) for name in names]
        found = next((a for a in answers if a.has), None)
        if found is not None:
            return found
        if all(a.has is False for a in answers):
            return FlagAnswer(False, "; ".join(a.why for a in answers))
        return FlagAnswer(None, "; ".join(a.why for a in answers if a.has is None))

    def describe(self) -> str:
        """Where the answers come from, for a finding: the cache document, else the version."""
        if self.caps is not None:
            return _describe(self.caps)
        return f"QEMU {self.version}" if self.version else "the guest's QEMU"

    def cpu_models(self, virt_type: str | None) -> frozenset[str] | None:
        """Every CPU model the guest's QEMU offers its accelerator (None: unknown)."""
        return None if self.caps is None else self.caps.models_for(virt_type)


def _describe(caps: QemuCapabilities) -> str:
    """``the capabilities libvirt probed for /usr/bin/qemu-system-x86_64 (QEMU 9.1.0)``."""
    version = f" (QEMU {caps.version})" if caps.version else ""
    binary = caps.emulator or f"the {caps.arch} QEMU" if caps.emulator or caps.arch else "its QEMU"
    return f"the capabilities libvirt probed for {binary}{version}"


def qemu_support(facts: DomainFacts, host: Host | None, versions: Versions) -> QemuSupport:
    """The guest's QEMU, from the snapshot's capabilities cache, else the QEMU version."""
    arch = facts.arch
    if arch is None and host is not None and host.capabilities is not None:
        arch = host.capabilities.arch  # libvirt defaults the arch to the host's
    caps = host.qemu_caps_for(arch, facts.emulator) if host is not None else None
    if caps is not None:
        trusted = (
            caps.libvirt_version is None
            or versions.libvirt is None
            or caps.libvirt_version >= versions.libvirt
        )
        return QemuSupport(caps, caps.version or versions.qemu, arch, trusted=trusted)
    if host is None:
        reason = "no host snapshot with libvirt's QEMU capabilities"
    elif not host.qemu_capabilities:
        reason = "the host snapshot holds no QEMU capabilities (libvirt's cache)"
    else:
        binary = facts.emulator or f"the {arch or 'host'} QEMU"
        reason = f"the host snapshot holds no QEMU capabilities of {binary}"
    return QemuSupport(None, versions.qemu, arch, no_caps_reason=reason)
