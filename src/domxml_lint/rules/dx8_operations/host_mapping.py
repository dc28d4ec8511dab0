"""DX854-DX857: ID maps, the Fibre Channel application ID, perf events and key wrapping."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule

#: ``virDomainDefResourceValidate``: the Fibre Channel appid length limits, in bytes.
APPID_LENGTH = (1, 128)


@rule(
    code="DX854",
    name="idmap-invalid",
    severity="error",
    summary="An <idmap> that maps only users or only groups, or not the root user",
    triggers=("idmap",),
    libvirt=("virDomainDefIdMapValidate",),
)
def idmap_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<idmap>`: it has both `<uid>` and `<gid>` entries, and the
    lowest `start` of each is 0 (the root user and group of the guest are
    mapped).

    ## Why is this bad?
    libvirt refuses the definition: "uid and gid should be mapped both", "You
    must map the root user of container". Without a mapping for ID 0 the
    container's init cannot run as root.

    ## Example
    ```xml
    <idmap>
      <uid start='0' target='1000' count='10'/>
    </idmap>
    ```

    ## Use instead
    ```xml
    <idmap>
      <uid start='0' target='1000' count='10'/>
      <gid start='0' target='1000' count='10'/>
    </idmap>
    ```

    ## Fix safety
    No fix: which host IDs to use is the administrator's choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefIdMapValidate`),
    src/conf/domain_conf.c (`virDomainIdmapDefParseXML` sorts the entries);
    formatdomain "Container boot".
    """
    facts = ctx.facts
    idmap = facts.idmap
    if idmap is None:
        return
    uids = facts.idmap_entries("uid")
    gids = facts.idmap_entries("gid")
    if bool(uids) != bool(gids):
        yield ctx.finding(
            idmap, f"uid and gid should be mapped both: only {'uid' if uids else 'gid'}s are"
        )
        return
    for entries in (uids, gids):
        if entries and entries[0].start not in (0, None):
            yield ctx.finding(
                entries[0].element,
                "You must map the root user of container: the lowest start is "
                f"{entries[0].start}, not 0",
                attribute="start",
            )
            return


@rule(
    code="DX855",
    name="fibrechannel-appid-invalid",
    severity="error",
    summary="A Fibre Channel application ID that is not 1-128 printable characters",
    triggers=("fibrechannel",),
    libvirt=("virDomainDefResourceValidate",),
)
def fibrechannel_appid_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<resource><fibrechannel appid=...>`: 1 to 128 bytes, all of them
    printable ASCII.

    ## Why is this bad?
    The kernel's Fibre Channel application ID (the blkcg `fc_app_id`) takes
    printable strings of at most 128 bytes; libvirt refuses the definition:
    "Fibre Channel 'appid' is not a printable string", "Fibre Channel 'appid'
    string length must be between [1, 128]".

    ## Example
    ```xml
    <resource>
      <fibrechannel appid='payroll	db'/>
    </resource>
    ```

    ## Use instead
    ```xml
    <fibrechannel appid='payroll-db'/>
    ```

    ## Fix safety
    No fix: the storage network identifies the guest by this ID.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefResourceValidate`);
    formatdomain "Resource partitioning".
    """
    element = ctx.facts.fibrechannel
    if element is None or element.get("appid") is None:
        return
    appid = element.get("appid") or ""
    low, high = APPID_LENGTH
    if not all(" " <= char <= "~" for char in appid):
        yield ctx.finding(
            element, "Fibre Channel 'appid' is not a printable string", attribute="appid"
        )
    elif not low <= len(appid.encode()) <= high:
        yield ctx.finding(
            element,
            f"Fibre Channel 'appid' string length must be between [{low}, {high}], not "
            f"{len(appid.encode())}",
            attribute="appid",
        )


@rule(
    code="DX856",
    name="perf-event-duplicate",
    severity="error",
    summary="A <perf> event listed twice",
    triggers=("perf",),
    libvirt=("virDomainPerfEventDefParseXML",),
)
def perf_event_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that `<perf>` names each `<event>` once.

    ## Why is this bad?
    libvirt refuses the definition: "perf event 'cmt' was already specified";
    with two settings it cannot tell which one is meant.

    ## Example
    ```xml
    <perf>
      <event name='cmt' enabled='yes'/>
      <event name='cmt' enabled='no'/>
    </perf>
    ```

    ## Use instead
    ```xml
    <perf>
      <event name='cmt' enabled='yes'/>
    </perf>
    ```

    ## Fix safety
    No fix: which of the two settings is meant is the author's call.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainPerfEventDefParseXML`);
    formatdomain "Performance monitoring events".
    """
    seen: set[str] = set()
    for event in ctx.facts.perf_events:
        name = event.get("name")
        if name is None:
            continue
        if name in seen:
            yield ctx.finding(event, f"perf event '{name}' was already specified", attribute="name")
        seen.add(name)


@rule(
    code="DX857",
    name="keywrap-invalid",
    severity="error",
    summary="A <keywrap> cipher given twice, or key wrapping on a guest that is not s390",
    triggers=("keywrap",),
    libvirt=("virDomainKeyWrapCipherDefParseXML", "qemuAppendKeyWrapMachineParms"),
)
def keywrap_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<keywrap>`: each cipher (`aes`, `dea`) appears once; and for
    QEMU/KVM guests key wrapping is set only on s390 guests.

    ## Why is this bad?
    libvirt refuses the definition: "A domain definition can have no more
    than one cipher node with name aes"; and QEMU is not started: "'aes-key-wrap'
    is not available on this architecture" (the CPACF key wrapping of IBM Z
    exists only there).

    ## Example
    ```xml
    <!-- an x86_64 guest -->
    <keywrap>
      <cipher name='aes' state='on'/>
    </keywrap>
    ```

    ## Use instead
    Remove `<keywrap>` from guests that are not s390.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainKeyWrapCipherDefParseXML`),
    src/qemu/qemu_command.c (`qemuAppendKeyWrapMachineParms`); formatdomain
    "Key Wrap".
    """
    facts = ctx.facts
    seen: set[str] = set()
    for cipher in facts.keywrap_ciphers:
        name = cipher.get("name")
        if name in seen:
            yield ctx.finding(
                cipher,
                f"A domain definition can have no more than one cipher node with name {name}",
            )
            return
        seen.add(name or "")
    if facts.driver != "qemu" or facts.arch is None or facts.arch in ("s390", "s390x"):
        return
    for cipher in facts.keywrap_ciphers:
        name = cipher.get("name")
        if name in ("aes", "dea"):
            yield ctx.finding(
                cipher, f"'{name}-key-wrap' is not available on this architecture ({facts.arch})"
            )
            return
