"""DX851-DX853: the domain's name and title, its OS type, and power management."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX851",
    name="domain-name-invalid",
    severity="error",
    summary="A domain <name> with '/' (QEMU) or a <title> with a newline",
    triggers=("name", "title"),
    libvirt=("virDomainDefPostParseCheckFeatures", "virDomainDefParseXML"),
)
def domain_name_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a QEMU/KVM domain's `<name>` has no `/` and that a domain's
    `<title>` is one line.

    ## Why is this bad?
    libvirt names files and directories after the domain (its XML, logs,
    NVRAM, sockets), so a `/` would make a path; it refuses the definition:
    "name a/b cannot contain '/'". The title is meant for one-line listings:
    "Domain title can't contain newlines".

    ## Example
    ```xml
    <name>web/frontend</name>
    ```

    ## Use instead
    ```xml
    <name>web-frontend</name>
    ```

    ## Fix safety
    No fix: tools and people refer to the domain by its name.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainDefPostParseCheckFeatures`,
    for drivers without `VIR_DOMAIN_DEF_FEATURE_NAME_SLASH`, as the QEMU
    driver), src/conf/domain_conf.c (`virDomainDefParseXML`); formatdomain
    "General metadata".
    """
    facts = ctx.facts
    name = facts.top("name")
    if name is not None and facts.driver == "qemu" and "/" in (name.text or ""):
        yield ctx.finding(name, f"name {name.text} cannot contain '/'")
    title = facts.top("title")
    if title is not None and "\n" in (title.text or ""):
        yield ctx.finding(title, "Domain title can't contain newlines")


@rule(
    code="DX852",
    name="os-type-unsupported",
    severity="error",
    summary="A QEMU/KVM guest whose <os><type> is not hvm",
    triggers=("type",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDef", "qemuBuildCommandLineValidate"),
)
def os_type_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a QEMU/KVM guest's `<os><type>` is `hvm` (full
    virtualisation), the only OS type QEMU runs.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "Emulator
    '/usr/bin/qemu-system-x86_64' does not support os type 'xen'". `xen`,
    `linux` (Xen paravirtualised), `exe` (containers) and `uml` belong to
    other drivers; a definition copied from a Xen or LXC host carries them.

    ## Example
    ```xml
    <domain type='kvm'>
      <os><type>linux</type></os>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
      <os><type arch='x86_64' machine='q35'>hvm</type></os>
    ```

    ## Fix safety
    No fix: a paravirtualised guest needs another kernel and devices.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`),
    src/qemu/qemu_command.c (`qemuBuildCommandLineValidate`: "qemu emulator
    '%s' does not support xen", reached only past the check above);
    formatdomain "Operating system booting".
    """
    facts = ctx.facts
    os_type = facts.os_type
    if os_type is None:
        return
    kind = (os_type.text or "").strip()
    if kind in ("", "hvm"):
        return
    yield ctx.finding(
        os_type,
        f"Emulator '{_emulator(ctx)}' does not support os type '{kind}': QEMU runs only "
        "'hvm' guests",
    )


def _emulator(ctx: RuleContext) -> str:
    """The emulator libvirt names: ``<emulator>``, else the host's for the guest arch."""
    facts = ctx.facts
    if facts.devices is not None:
        emulator = child(facts.devices, "emulator")
        if emulator is not None and emulator.text:
            return emulator.text.strip()
    host = ctx.optional_host
    caps = None if host is None else host.capabilities
    if caps is not None and facts.arch is not None:
        for guest in caps.guests_running(facts.arch):
            if guest.emulator:
                return guest.emulator
    return "qemu"


@rule(
    code="DX853",
    name="pm-suspend-unsupported",
    severity="error",
    summary="ACPI S3/S4 (<pm><suspend-to-mem>, <suspend-to-disk>) on a guest that is not x86",
    triggers=("pm",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDef",),
)
def pm_suspend_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a QEMU/KVM guest sets `<pm><suspend-to-mem>` or
    `<suspend-to-disk>` only on x86 (i686, x86_64).

    ## Why is this bad?
    The switches turn the S3 and S4 sleep states of the PC chipsets' ACPI on
    or off; other machines have no such switch. libvirt's QEMU driver refuses
    the definition: "setting ACPI S3/S4 not supported".

    ## Example
    ```xml
    <!-- an aarch64 guest -->
    <pm>
      <suspend-to-mem enabled='no'/>
    </pm>
    ```

    ## Use instead
    Remove `<pm>` from non-x86 guests.

    ## Fix safety
    No fix offered: removing the element is what the author wants, but the
    setting may have been meant for an x86 copy of the guest.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`); formatdomain
    "Power Management".
    """
    facts = ctx.facts
    pm = facts.top("pm")
    if pm is None or facts.arch is None or facts.is_x86:
        return
    for tag in ("suspend-to-mem", "suspend-to-disk"):
        element = child(pm, tag)
        if element is not None and element.get("enabled") in ("yes", "no"):
            yield ctx.finding(
                element,
                f"setting ACPI S3/S4 not supported on {facts.arch}: only x86 guests have them",
                attribute="enabled",
            )
            return
