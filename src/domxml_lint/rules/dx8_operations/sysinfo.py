"""DX847-DX848: ``<sysinfo>`` (SMBIOS tables and fw_cfg entries) libvirt refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts.domain_settings import parse_uuid
from ...findings import Finding
from ...rule import RuleContext, rule

#: ``virStrToLong_i`` numbers separated by slashes: mm/dd/yy or mm/dd/yyyy.
_BIOS_DATE = re.compile(r"^\s*([+-]?\d+)/\s*([+-]?\d+)/\s*([+-]?\d+)$")


def bios_date_valid(text: str) -> bool:
    """``virSysinfoBIOSParseXML``'s test: month 1-12, day 1-31, a year 0-99 or >= 1900."""
    match = _BIOS_DATE.match(text)
    if match is None:
        return False
    month, day, year = (int(group) for group in match.groups())
    return 1 <= month <= 12 and 1 <= day <= 31 and (0 <= year < 100 or year >= 1900)


@rule(
    code="DX847",
    name="smbios-sysinfo-invalid",
    severity="error",
    summary="SMBIOS <sysinfo> with a bad BIOS date, another UUID, or what QEMU cannot build",
    triggers=("sysinfo", "smbios"),
    libvirt=("virSysinfoBIOSParseXML", "virSysinfoSystemParseXML", "qemuBuildSmbiosCommandLine"),
)
def smbios_sysinfo_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<sysinfo type='smbios'>`: the BIOS `date` entry is `mm/dd/yy` or
    `mm/dd/yyyy` (month 1-12, day 1-31, a four-digit year from 1900); the
    system `uuid` entry is the domain's `<uuid>`. For QEMU/KVM guests with
    `<os><smbios mode='sysinfo'/>` also: an SMBIOS `<sysinfo>` exists, and it
    has at most one `<baseBoard>`.

    ## Why is this bad?
    libvirt refuses the definition: "Invalid BIOS 'date' format", "UUID
    mismatch between <uuid> and <sysinfo>"; and QEMU cannot be started:
    "Domain 'guest' sysinfo are not available", "qemu does not support more
    than one entry to Type 2 in SMBIOS table". A UUID mismatch usually comes
    from a cloned definition whose `<uuid>` was regenerated.

    ## Example
    ```xml
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
    <sysinfo type='smbios'>
      <system>
        <entry name='uuid'>c7a5fdbd-edaf-9455-926a-d65c16db1800</entry>
      </system>
    </sysinfo>
    ```

    ## Use instead
    ```xml
    <entry name='uuid'>c7a5fdbd-edaf-9455-926a-d65c16db1809</entry>
    ```
    (or no `uuid` entry: libvirt fills in the domain's.)

    ## Fix safety
    No fix: which of the two UUIDs the guest should see is the author's call.

    ## Source
    libvirt src/conf/domain_conf.c (`virSysinfoBIOSParseXML`,
    `virSysinfoSystemParseXML`), src/qemu/qemu_command.c
    (`qemuBuildSmbiosCommandLine`); formatdomain "SMBIOS System Information".
    """
    facts = ctx.facts
    smbios = [info for info in facts.sysinfos if info.type == "smbios"]
    for info in smbios:
        date = info.bios_date
        if date is not None and not bios_date_valid(date.value):
            yield ctx.finding(
                date.element,
                f"Invalid BIOS 'date' format: '{date.value}' (mm/dd/yy or mm/dd/yyyy)",
            )
        system_uuid = info.system_uuid
        if system_uuid is not None and facts.uuid is not None:
            value = parse_uuid(system_uuid.value)
            if value is not None and value.hex() != facts.uuid:  # facts.uuid: 32 hex digits
                yield ctx.finding(system_uuid.element, "UUID mismatch between <uuid> and <sysinfo>")
    mode = facts.smbios_mode
    if facts.driver != "qemu" or mode is None or mode.get("mode") != "sysinfo":
        return
    if not smbios:
        name = (facts.root.findtext("name") or "").strip()
        yield ctx.finding(
            mode,
            f"Domain '{name}' sysinfo are not available: mode='sysinfo' needs a "
            "<sysinfo type='smbios'>",
            attribute="mode",
        )
    elif len(smbios[0].base_boards) > 1:
        yield ctx.finding(
            smbios[0].base_boards[1],
            "qemu does not support more than one entry to Type 2 in SMBIOS table",
        )


#: fw_cfg names QEMU and OVMF reserve for themselves.
RESERVED_FW_CFG_PREFIXES = ("opt/ovmf/", "opt/org.qemu/")


@rule(
    code="DX848",
    name="fw-cfg-entry-invalid",
    severity="error",
    summary="A fw_cfg <sysinfo> entry without a value, or with a name QEMU refuses",
    triggers=("sysinfo",),
    libvirt=("virSysinfoParseFWCfgDef", "qemuValidateDomainDefSysinfo"),
)
def fw_cfg_entry_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the entries of `<sysinfo type='fwcfg'>`: each has a value or a
    `file`; for QEMU/KVM guests each name starts with `opt/` and not with
    the reserved `opt/ovmf/` or `opt/org.qemu/`.

    ## Why is this bad?
    libvirt refuses the definition: "Firmware entry must have either value or
    'file' attribute", and its QEMU driver "Invalid firmware name" and "That
    firmware name is reserved" (QEMU keeps names outside `opt/` for itself,
    and OVMF and QEMU own their `opt/` subtrees).

    ## Example
    ```xml
    <sysinfo type='fwcfg'>
      <entry name='com.example/config'>value</entry>
    </sysinfo>
    ```

    ## Use instead
    ```xml
    <sysinfo type='fwcfg'>
      <entry name='opt/com.example/config'>value</entry>
    </sysinfo>
    ```

    ## Fix safety
    No fix: software in the guest reads the entry by its name.

    ## Source
    libvirt src/conf/domain_conf.c (`virSysinfoParseFWCfgDef`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDefSysinfo`); QEMU
    docs/specs/fw_cfg.rst; formatdomain "SMBIOS System Information".
    """
    facts = ctx.facts
    for info in facts.sysinfos:
        for entry in info.fw_cfg:
            if not entry.text and entry.get("file") is None:
                yield ctx.finding(
                    entry, "Firmware entry must have either value or 'file' attribute"
                )
            name = entry.get("name")
            if facts.driver != "qemu" or name is None:
                continue
            if not name.startswith("opt/"):
                yield ctx.finding(
                    entry, f"Invalid firmware name '{name}': it must start with 'opt/'",
                    attribute="name",
                )  # fmt: skip
            elif name.startswith(RESERVED_FW_CFG_PREFIXES):
                yield ctx.finding(entry, "That firmware name is reserved", attribute="name")
