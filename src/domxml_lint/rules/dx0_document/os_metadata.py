"""DX013: the guest's operating system, named in libosinfo metadata (guide 3.1.1)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX013",
    name="os-metadata-missing",
    severity="info",
    summary="No libosinfo metadata naming the guest's operating system",
    default=False,
    domains=QEMU,
)
def os_metadata_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Opt-in. Reports a guest whose `<metadata>` has no
    `<libosinfo:os id=...>` naming its operating system (and release).

    ## Why is this bad?
    The guide's first advice for a new guest is to say which operating system
    it runs: the tools then choose devices and settings the OS supports
    (virtio models, timers, Hyper-V enlightenments for Windows, the tuned
    profile inside RHEL guests). The metadata is also what later tools,
    domxml-lint among them, read to tell a Windows guest from a Linux one;
    without it they have to guess.

    ## Example
    ```xml
    <domain type='kvm'>
      <name>web-01</name>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
      <name>web-01</name>
      <metadata>
        <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
          <libosinfo:os id="http://redhat.com/rhel/9.4"/>
        </libosinfo:libosinfo>
      </metadata>
    ```
    (`virt-install --osinfo rhel9.4` writes it; `osinfo-query os` lists the ids.)

    ## Fix safety
    No fix: only the author knows the guest's OS.

    ## Source
    Guide 3.1.1 (Specifying guest virtual machine details: always give the OS
    type and version); libosinfo's libvirt metadata namespace
    (`http://libosinfo.org/xmlns/libvirt/domain/1.0`).
    """
    if any(ctx.facts.os_ids):
        return
    yield ctx.finding(
        ctx.doc.root,
        "the guest's operating system is not named (no <libosinfo:os id=...> in <metadata>): "
        "tools cannot choose devices and settings for it (virt-install --osinfo writes it)",
    )
