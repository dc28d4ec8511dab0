"""DX849: SEV-SNP launch security data of the wrong length, SEV kernel hashes QEMU lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import RuleContext, rule

#: The SEV-SNP fields libvirt checks and the length each decodes to, in bytes.
SNP_FIELD_BYTES = (
    ("guestVisibleWorkarounds", 16),
    ("idBlock", 96),
    ("idAuth", 4096),
    ("hostData", 32),
)
_BASE64_ALPHABET = re.compile(r"[A-Za-z0-9+/]")


def base64_decoded_length(text: str) -> int:
    """What GLib's lenient ``g_base64_decode`` returns for ``text``, in bytes: it skips
    characters outside the alphabet and decodes every full group of four."""
    return len(_BASE64_ALPHABET.findall(text)) * 3 // 4


@rule(
    code="DX849",
    name="launch-security-invalid",
    severity="error",
    summary="SEV-SNP launch security data of the wrong size, or SEV kernel hashes QEMU lacks",
    triggers=("launchSecurity",),
    libvirt=("virDomainDefLaunchSecurityValidate", "qemuValidateDomainDef"),
)
def launch_security_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For `<launchSecurity type='sev-snp'>`, decodes the base64 of
    `<guestVisibleWorkarounds>` (16 bytes), `<idBlock>` (96),
    `<idAuth>` (4096) and `<hostData>` (32) and checks each length. For a
    QEMU/KVM guest with `<launchSecurity type='sev' kernelHashes=...>`, also
    checks that the guest's QEMU has sev-guest's `kernel-hashes` property
    (QEMU 6.2, x86 only; from `qemu-version`, or exactly from a host
    snapshot's QEMU capabilities, which also say whether the build has SEV).

    ## Why is this bad?
    The AMD SEV-SNP firmware takes these structures at exactly these sizes;
    libvirt refuses the definition: "Unexpected length of 'idBlock', expected
    96 got 64". A truncated or wrongly encoded blob is the usual cause. An
    older QEMU cannot measure the kernel, initrd and command line into the
    launch digest; libvirt's QEMU driver refuses: "SEV measured direct kernel
    boot is not supported with this QEMU binary".

    ## Example
    ```xml
    <launchSecurity type='sev-snp'>
      <policy>0x00030000</policy>
      <hostData>AAAA</hostData>
    </launchSecurity>
    ```

    ## Use instead
    ```xml
    <hostData>bGlidmlydGxpYnZpcnRsaWJ2aXJ0bGlidmlydGxpYnY=</hostData>
    ```
    (32 bytes, base64-encoded.)

    ## Fix safety
    No fix: the data comes from the guest owner's attestation setup, and
    kernel hashes are part of what the guest owner attests.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefLaunchSecurityValidate`,
    `CHECK_BASE64_LEN`), src/qemu/qemu_validate.c (`qemuValidateDomainDef`);
    AMD SEV-SNP firmware ABI (SNP_LAUNCH_FINISH);
    formatdomain "Launch Security".
    """
    launch = ctx.facts.launch_security
    if launch is None:
        return
    if (
        launch.get("type") == "sev"
        and launch.get("kernelHashes") is not None
        and ctx.facts.driver == "qemu"
        and (why := ctx.qemu_lacks("sev-guest-kernel-hashes"))
    ):
        yield ctx.finding(
            launch,
            f"SEV measured direct kernel boot is not supported with this QEMU binary: {why}",
            attribute="kernelHashes",
        )
    if launch.get("type") != "sev-snp":
        return
    for name, expected in SNP_FIELD_BYTES:
        field = child(launch, name)
        if field is None or not field.text:
            continue
        got = base64_decoded_length(field.text)
        if got != expected:
            yield ctx.finding(
                field, f"Unexpected length of '{name}', expected {expected} got {got}"
            )
