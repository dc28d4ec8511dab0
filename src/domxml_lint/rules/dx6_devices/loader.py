"""DX648, DX653-DX656: the firmware loader, its NVRAM store and firmware autoselection."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

Element = etree._Element

#: libvirt's storage formats (virStorageFileFormat); ``format=`` must name one.
STORAGE_FORMATS = frozenset({
    "none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
    "cow", "qcow", "qcow2", "qed", "vmdk",
})  # fmt: skip
#: The formats a loader or NVRAM image may have.
FIRMWARE_FORMATS = frozenset({"raw", "qcow2"})
#: ``<nvram type=...>`` values QEMU can back the variable store with.
NVRAM_SOURCE_TYPES = frozenset({"file", "block", "network"})


@rule(
    code="DX648",
    name="firmware-format-invalid",
    severity="error",
    summary="A <loader> or <nvram> format other than raw or qcow2, or the two formats differ",
    triggers=("loader", "nvram"),
    domains=QEMU,
    libvirt=(
        "virDomainLoaderDefParseXMLLoader",
        "virDomainLoaderDefParseXMLNvram",
        "virDomainLoaderDefParseXML",
        "qemuFirmwareFillDomain",
    ),
)
def firmware_format_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `format=` on `<os><loader>` and `<os><nvram>`: firmware images are
    `raw` or `qcow2`, and when both elements name a format it must be the
    same.

    ## Why is this bad?
    libvirt's parser refuses the definition: "Unsupported loader format
    '%s'", "Unsupported nvram format '%s'" (a storage format such as `vmdk`
    that firmware cannot use; a word that is no storage format at all gets
    "Invalid value for attribute 'format' ..."), and "Format mismatch:
    loader.format='%s' nvram.format='%s'" (the variable store must have the
    format of the firmware build it belongs to). This describes libvirt 10.7.

    ## Example
    ```xml
    <os firmware='efi'>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <loader format='qcow2'/>
      <nvram format='raw'/>
    </os>
    ```

    ## Use instead
    ```xml
    <loader format='qcow2'/>
    <nvram format='qcow2'/>
    ```

    ## Fix safety
    No fix: the right format depends on the firmware files installed.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainLoaderDefParseXMLLoader`,
    `virDomainLoaderDefParseXMLNvram`, `virDomainLoaderDefParseXML`),
    src/qemu/qemu_firmware.c (`qemuFirmwareFillDomain`); formatdomain "BIOS
    bootloader" (`loader` and `nvram` `format`).
    """
    loader = ctx.facts.loader
    if loader is None:
        return
    written = [("loader", loader.element, loader.format)]
    if loader.nvram is not None:
        written.append(("nvram", loader.nvram.element, loader.nvram.format))
    formats: dict[str, str] = {}
    for name, element, value in written:
        if element is None or value is None or value == "none":
            continue
        if value not in STORAGE_FORMATS:
            message = (
                f"Invalid value for attribute 'format' in element '{name}': '{value}'. "
                "Expected raw or qcow2"
            )
        elif value not in FIRMWARE_FORMATS:
            message = f"Unsupported {name} format '{value}'"
        else:
            formats[name] = value
            continue
        yield ctx.finding(element, message, attribute="format")
    if len(formats) == 2 and formats["loader"] != formats["nvram"]:
        assert loader.nvram is not None
        yield ctx.finding(
            loader.nvram.element,
            f"Format mismatch: loader.format='{formats['loader']}' "
            f"nvram.format='{formats['nvram']}'",
            attribute="format",
        )


@rule(
    code="DX653",
    name="firmware-feature-conflict",
    severity="error",
    summary="Firmware features that contradict each other, or given without firmware autoselection",
    triggers=("firmware",),
    domains=QEMU,
    libvirt=("virDomainDefOSValidate",),
)
def firmware_feature_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<os><firmware><feature>`, the requirements libvirt's firmware
    autoselection (`<os firmware='efi'>`) matches firmware builds against:
    `enrolled-keys` cannot be enabled while `secure-boot` is disabled, and
    the features need `<os firmware=...>`.

    ## Why is this bad?
    libvirt refuses the definition: "firmware feature 'enrolled-keys' cannot
    be enabled when firmware feature 'secure-boot' is disabled" (keys are
    enrolled for secure boot), and "cannot use feature-based firmware
    autoselection when firmware autoselection is disabled" (both proven on
    libvirt 9.0's QEMU driver). Since libvirt 9.2 the second refusal applies
    to what `virsh define` and `virsh create` submit; a definition libvirt
    already holds (or one migrated from libvirt 8.6-9.1, which wrote such
    XML) is accepted and the features are ignored. libvirt's own test suite
    parses without that flag, so it accepts such inputs.

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <firmware>
        <feature enabled='yes' name='secure-boot'/>
      </firmware>
      <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
    </os>
    ```

    ## Use instead
    ```xml
    <os firmware='efi'>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <firmware>
        <feature enabled='yes' name='secure-boot'/>
      </firmware>
    </os>
    ```

    ## Fix safety
    No fix: choosing between autoselection and a manual loader is the
    author's decision.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefOSValidate`),
    src/conf/domain_conf.c (`virDomainDefParseBootFirmwareOptions`);
    formatdomain "BIOS bootloader" (`firmware`).
    """
    facts = ctx.facts
    features = facts.firmware_features
    if not features:
        return
    if facts.firmware is not None:
        if (
            facts.firmware_feature("enrolled-keys")
            and facts.firmware_feature("secure-boot") is False
        ):
            enrolled = next(f for f in reversed(features) if f.name == "enrolled-keys")
            yield ctx.finding(
                enrolled.element,
                "firmware feature 'enrolled-keys' cannot be enabled when firmware feature "
                "'secure-boot' is disabled",
            )
    else:
        firmware = features[0].element.getparent()
        assert firmware is not None
        yield ctx.finding(
            firmware,
            "cannot use feature-based firmware autoselection when firmware autoselection is "
            "disabled: add firmware='efi' to <os>, or remove <firmware> (libvirt refuses it "
            "on virsh define)",
        )


@rule(
    code="DX654",
    name="loader-path-missing",
    severity="error",
    summary="A manual <loader> or <nvram> without a firmware path and without autoselection",
    triggers=("loader", "nvram"),
    domains=QEMU,
    libvirt=("virDomainDefOSValidate",),
)
def loader_path_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a firmware configuration with no `<os firmware=...>` (so no
    autoselection) whose `<loader>` names no firmware image, including an
    `<nvram>` written without a `<loader>`.

    ## Why is this bad?
    libvirt refuses the definition: "no loader path specified and firmware
    auto selection disabled". With manual firmware, libvirt has nothing to
    start the guest with.

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <loader readonly='yes' type='pflash'/>
    </os>
    ```

    ## Use instead
    ```xml
    <os firmware='efi'>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    </os>
    ```

    ## Fix safety
    No fix: `firmware='efi'` would be one, but the author may have meant a
    particular firmware file.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefOSValidate`);
    formatdomain "BIOS bootloader" (`loader`, `firmware`).
    """
    facts = ctx.facts
    loader = facts.loader
    if loader is None or facts.firmware is not None or loader.path is not None:
        return
    anchor = loader.element
    if anchor is None:
        assert loader.nvram is not None
        anchor = loader.nvram.element
    yield ctx.finding(anchor, "no loader path specified and firmware auto selection disabled")


@rule(
    code="DX655",
    name="nvram-not-permitted",
    severity="error",
    summary="An <nvram> (or stateless='no' loader) with firmware that keeps no variable store",
    triggers=("loader", "nvram"),
    domains=QEMU,
    libvirt=("virDomainDefOSValidate",),
)
def nvram_not_permitted(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the UEFI variable store against the firmware: `<nvram>` needs
    `firmware='efi'` when firmware is autoselected; a `stateless='yes'`
    loader takes no `<nvram>` (nor a `template=`); a `stateless='no'` loader
    (which asks for a variable store) needs a `pflash` loader, or
    `firmware='efi'`.

    ## Why is this bad?
    libvirt refuses the definition: "firmware type '%s' does not support
    nvram", "NVRAM template is not permitted when loader is stateless",
    "NVRAM is not permitted when loader is stateless", "Only pflash loader
    type permits NVRAM", "Only EFI firmware permits NVRAM". BIOS and ROM
    firmware have no variable store, and a stateless firmware build has
    nowhere to keep one.

    ## Example
    ```xml
    <os firmware='bios'>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <nvram>/var/lib/libvirt/qemu/nvram/guest_VARS.fd</nvram>
    </os>
    ```

    ## Use instead
    ```xml
    <os firmware='efi'>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <nvram>/var/lib/libvirt/qemu/nvram/guest_VARS.fd</nvram>
    </os>
    ```

    ## Fix safety
    No fix: whether the guest should boot BIOS or UEFI is the author's
    choice, and dropping a variable store may drop the guest's boot entries.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefOSValidate`);
    formatdomain "BIOS bootloader" (`loader` `stateless`, `nvram`).
    """
    facts = ctx.facts
    loader = facts.loader
    if loader is None:
        return
    nvram = loader.nvram
    firmware = facts.firmware
    if firmware is not None:
        # firmware= is 'efi' or 'bios'; libvirt's parser refuses anything else
        if nvram is not None and firmware == "bios":
            yield ctx.finding(nvram.element, f"firmware type '{firmware}' does not support nvram")
            return
    elif loader.path is None:
        return  # loader-path-missing: libvirt stops there
    anchor = loader.element
    if loader.stateless == "yes":
        if nvram is not None and nvram.template is not None:
            yield ctx.finding(
                nvram.element,
                "NVRAM template is not permitted when loader is stateless",
                attribute="template",
            )
        elif nvram is not None:
            yield ctx.finding(nvram.element, "NVRAM is not permitted when loader is stateless")
    elif loader.stateless == "no" and anchor is not None:
        if firmware is None and loader.type != "pflash":
            yield ctx.finding(
                anchor, "Only pflash loader type permits NVRAM", attribute="stateless"
            )
        elif firmware == "bios":
            yield ctx.finding(anchor, "Only EFI firmware permits NVRAM", attribute="stateless")


@rule(
    code="DX656",
    name="nvram-source-unsupported",
    severity="error",
    summary="An <nvram> backed by a storage type, slice or reservation QEMU cannot use",
    triggers=("nvram",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefNvram",),
)
def nvram_source_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<os><nvram type=...>` (since libvirt 8.5 the variable store may
    be a file, a block device or a network volume, described like a disk
    `<source>`): the type must be `file`, `block` or `network`, and the
    source may not use `<slices>` or `<reservations>`.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "unsupported nvram disk
    type '%s'", "slices are not supported with NVRAM", "persistent
    reservations are not supported with NVRAM". QEMU attaches the store as a
    pflash drive, which takes none of these.

    ## Example
    ```xml
    <nvram type='dir'>
      <source dir='/var/lib/libvirt/qemu/nvram'/>
    </nvram>
    ```

    ## Use instead
    ```xml
    <nvram type='file'>
      <source file='/var/lib/libvirt/qemu/nvram/guest_VARS.fd'/>
    </nvram>
    ```

    ## Fix safety
    No fix: where the store should live is the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefNvram`);
    formatdomain "BIOS bootloader" (`nvram` `type`).
    """
    nvram = ctx.facts.nvram
    if nvram is None or nvram.source_type is None:
        return
    if nvram.source_type not in NVRAM_SOURCE_TYPES:
        yield ctx.finding(
            nvram.element, f"unsupported nvram disk type '{nvram.source_type}'", attribute="type"
        )
        return
    source = nvram.source
    if source is None:
        return
    slices = child(source, "slices")
    if slices is not None and any(s.get("type") == "storage" for s in slices.iterchildren("slice")):
        yield ctx.finding(slices, "slices are not supported with NVRAM")
    reservations = child(source, "reservations")
    if reservations is not None:
        yield ctx.finding(reservations, "persistent reservations are not supported with NVRAM")
