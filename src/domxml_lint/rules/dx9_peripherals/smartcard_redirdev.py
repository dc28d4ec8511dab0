"""DX996-DX998: smartcards and redirected USB devices libvirt refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Certificates a ``host-certificates`` smartcard emulates (QEMU's ccid-card-emulated).
HOST_CERTIFICATES = 3
#: ``qemuValidateDomainSmartcardDef``: smartcard mode -> (QEMU flag, the mode in its message).
SMARTCARD_MODE_FLAGS = {
    "host": ("ccid-emulated", "host"),
    "host-certificates": ("ccid-emulated", "host"),
    "passthrough": ("ccid-passthru", "passthrough"),
}


@rule(
    code="DX996",
    name="smartcard-invalid",
    severity="error",
    summary="A <smartcard> with the wrong certificates, a relative database, off the CCID bus, "
    "or whose QEMU lacks its device",
    triggers=("smartcard",),
    libvirt=(
        "virDomainSmartcardDefParseXML",
        "virDomainSmartcardDefValidate",
        "qemuValidateDomainSmartcardDef",
    ),
)
def smartcard_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<smartcard>`: `mode='host-certificates'` names exactly three
    `<certificate>`s and an absolute `<database>` path; an `<address>` is of
    type `ccid`; and for QEMU/KVM guests there is one smartcard only, at CCID
    controller 0, slot 0, and the guest's QEMU has the device of its mode:
    `ccid-card-emulated` for `host` and `host-certificates` (a QEMU built
    without libcacard lacks it), `ccid-card-passthru` for `passthrough`. Which
    devices a build has only a host snapshot's QEMU capabilities (libvirt's
    cache) say; without one that check stays silent (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "host-certificates mode needs exactly
    three certificates", "expecting absolute path: certs/db", "Controllers
    must use the 'ccid' address type", and its QEMU driver "this QEMU binary
    lacks multiple smartcard support" (QEMU's CCID device holds one card),
    "this QEMU binary lacks smartcard host mode support", "this QEMU binary
    lacks smartcard passthrough mode support".

    ## Example
    ```xml
    <smartcard mode='host-certificates'>
      <certificate>cert1</certificate>
      <certificate>cert2</certificate>
    </smartcard>
    ```

    ## Use instead
    ```xml
    <smartcard mode='host-certificates'>
      <certificate>cert1</certificate>
      <certificate>cert2</certificate>
      <certificate>cert3</certificate>
    </smartcard>
    ```

    ## Fix safety
    No fix: which certificates the card holds is the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainSmartcardDefParseXML`),
    src/conf/domain_validate.c (`virDomainSmartcardDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainSmartcardDef`);
    formatdomain "Smartcard devices".
    """
    facts = ctx.facts
    cards = facts.smartcards
    for index, card in enumerate(cards):
        element = card.element
        if card.mode == "host-certificates":
            if len(card.certificates) != HOST_CERTIFICATES:
                yield ctx.finding(
                    element,
                    "host-certificates mode needs exactly three certificates, not "
                    f"{len(card.certificates)}",
                )
            database = card.database
            if database is not None and not (database.text or "").startswith("/"):
                yield ctx.finding(database, f"expecting absolute path: {database.text or ''}")
        address = card.address
        kind = None if address is None else address.get("type")
        if address is not None and kind != "ccid":
            yield ctx.finding(address, "Controllers must use the 'ccid' address type")
            continue
        if facts.driver != "qemu":
            continue
        if index > 0:
            yield ctx.finding(
                element,
                "this QEMU binary lacks multiple smartcard support: QEMU takes one smartcard",
            )
        elif address is not None and (
            _number(address.get("controller")) != 0 or _number(address.get("slot")) != 0
        ):
            yield ctx.finding(
                address,
                "this QEMU binary lacks multiple smartcard support: the smartcard must be at "
                "CCID controller 0, slot 0",
            )
        elif card.mode in SMARTCARD_MODE_FLAGS:
            flag, mode_name = SMARTCARD_MODE_FLAGS[card.mode]
            if why := ctx.qemu_lacks(flag):
                yield ctx.finding(
                    element,
                    f"this QEMU binary lacks smartcard {mode_name} mode support: {why}",
                    attribute="mode",
                )


def _number(text: str | None) -> int | None:
    """A C ``strtoul(..., 0)`` number (decimal, 0x hex, 0 octal); 0 when absent."""
    if text is None:
        return 0
    return c_integer(text)


_C_INTEGER = re.compile(r"^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")


def c_integer(text: str) -> int | None:
    """An integer as C's ``strtol(text, NULL, 0)`` reads a whole string, else None."""
    match = _C_INTEGER.match(text)
    if match is None:
        return None
    sign, digits = match.groups()
    if digits[:2].lower() == "0x":
        value = int(digits[2:], 16)
    elif digits.startswith("0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    return -value if sign == "-" else value


@rule(
    code="DX997",
    name="redirdev-invalid",
    severity="error",
    summary="A redirected USB device off the USB bus, or a USB filter with a bad class code",
    triggers=("redirdev", "redirfilter"),
    libvirt=("virDomainRedirdevDefParseXML", "virDomainRedirFilterUSBDevDefParseXML"),
)
def redirdev_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a `<redirdev bus='usb'>` has no `<address>` other than a
    `usb` one, and that every `<redirfilter><usbdev class=...>` is a USB
    class code (0 to 0xFF) or -1 (any class).

    ## Why is this bad?
    libvirt refuses the definition: "Invalid address for a USB device",
    "Invalid USB Class code 0x100".

    ## Example
    ```xml
    <redirfilter>
      <usbdev class='0x108' allow='yes'/>
    </redirfilter>
    ```

    ## Use instead
    ```xml
    <redirfilter>
      <usbdev class='0x08' allow='yes'/>
    </redirfilter>
    ```

    ## Fix safety
    No fix: which devices the filter lets through is the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainRedirdevDefParseXML`,
    `virDomainRedirFilterUSBDevDefParseXML`); formatdomain
    "Redirected devices"; USB-IF "Defined Class Codes".
    """
    facts = ctx.facts
    for redirdev in facts.redirdevs:
        if redirdev.bus == "usb" and redirdev.address_type not in (None, "usb"):
            yield ctx.finding(redirdev.element, "Invalid address for a USB device")
    for usbdev in facts.redirfilter_usbdevs:
        text = usbdev.get("class")
        value = None if text is None else c_integer(text)
        if value is not None and value != -1 and value & ~0xFF:
            yield ctx.finding(
                usbdev,
                f"Invalid USB Class code 0x{value & 0xFFFFFFFF:x}: a class is 0x00 to 0xff, "
                "or -1 for any",
                attribute="class",
            )


@rule(
    code="DX998",
    name="redirdev-unsupported",
    severity="error",
    summary="A redirected USB device on a host whose QEMU has no USB redirection",
    triggers=("redirdev",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainRedirdevDef",),
)
def redirdev_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For a QEMU/KVM guest with `<redirdev>` devices, looks up USB redirection
    in the host's domain capabilities for the guest's machine
    (`<redirdev supported='yes'>` with `usb` in `<enum name='bus'>`).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "USB redirection is not
    supported by this version of QEMU" (a QEMU built without usbredir, or an
    architecture without USB such as s390x).

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <redirdev bus='usb' type='spicevmc'/>
    ```

    ## Use instead
    Pass the USB device through with `<hostdev mode='subsystem' type='usb'>`,
    or use a host whose QEMU has usbredir.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainRedirdevDef`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceRedirdevCaps`);
    formatdomaincaps "Redirdev device".
    """
    caps = ctx.domain_caps
    if caps is None:
        return
    buses = caps.enum("devices/redirdev", "bus")
    if buses is None or "usb" in buses:
        return
    for redirdev in ctx.facts.redirdevs:
        if redirdev.bus == "usb":
            yield ctx.finding(
                redirdev.element, "USB redirection is not supported by this version of QEMU"
            )
