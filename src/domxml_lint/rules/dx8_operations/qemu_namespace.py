"""DX858: the QEMU namespace (``qemu:commandline``, ``qemu:capabilities``, ``qemu:override``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

_ENV_NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9_]*$")
_SIGNED = re.compile(r"^\s*[+-]?\d+$")
_UNSIGNED = re.compile(r"^\s*\+?\d+$")
INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1


def _property_value_valid(kind: str | None, value: str) -> bool:
    """``qemuDomainDefNamespaceParseOverrideProperties``: virStrToLong_ll for signed,
    virStrToLong_ullp (no minus sign) for unsigned, the words true/false for bool."""
    if kind == "signed":
        return bool(_SIGNED.match(value)) and INT64[0] <= int(value) <= INT64[1]
    if kind == "unsigned":
        return bool(_UNSIGNED.match(value)) and int(value) <= UINT64_MAX
    if kind == "bool":
        return value in ("true", "false")
    return True


@rule(
    code="DX858",
    name="qemu-namespace-invalid",
    severity="error",
    summary="qemu:commandline, qemu:capabilities or qemu:override entries libvirt refuses",
    domains=QEMU,
    libvirt=(
        "qemuDomainDefNamespaceParseCommandlineArgs",
        "qemuDomainDefNamespaceParseCommandlineEnvValidate",
        "qemuDomainDefNamespaceParseCaps",
        "qemuDomainDefNamespaceParseOverrideProperties",
        "qemuDomainDefNamespaceParseDeviceOverride",
    ),
)
def qemu_namespace_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the QEMU driver's XML namespace
    (`xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'`):
    every `<qemu:arg>` has a `value`; every `<qemu:env>` a `name` that starts
    with a letter or `_` and holds only letters, digits and `_`; every
    `<qemu:add>`/`<qemu:del>` a `capability`; every `<qemu:device>` an
    `alias`; and every `<qemu:property>` a `name` other than `id`, a `value`
    unless its type is `remove` (then none), and a value its type accepts
    (`signed` and `unsigned` integers, `bool` true or false).

    ## Why is this bad?
    libvirt refuses the definition: "No qemu command-line argument
    specified", "Invalid environment name, it must begin with a letter or
    underscore", "missing capability name", "missing 'alias' attribute for
    qemu:device", "property with name 'id' can't be overridden", "invalid
    value 'yes' of 'value' attribute of 'qemu:property'", "setting 'value'
    attribute of 'qemu:property' doesn't make sense with 'remove' type".

    ## Example
    ```xml
    <qemu:override>
      <qemu:device alias='ua-net0'>
        <qemu:frontend>
          <qemu:property name='x-enable-migration' type='bool' value='yes'/>
        </qemu:frontend>
      </qemu:device>
    </qemu:override>
    ```

    ## Use instead
    ```xml
    <qemu:property name='x-enable-migration' type='bool' value='true'/>
    ```

    ## Fix safety
    No fix: these settings pass through to QEMU unchecked, so only the
    author knows what was meant.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefNamespaceParse` and its
    helpers); drvqemu "Pass-through of arbitrary qemu commands", "Overriding
    properties of QEMU devices" (`qemu:device` names a device by its alias,
    formatdomain "Devices").
    """
    facts = ctx.facts
    for arg in facts.qemu_elements("commandline/arg"):
        if arg.get("value") is None:
            yield ctx.finding(arg, "No qemu command-line argument specified")
    for env in facts.qemu_elements("commandline/env"):
        message = _env_refusal(env)
        if message is not None:
            yield ctx.finding(env, message, attribute="name" if env.get("name") else None)
    for path in ("capabilities/add", "capabilities/del"):
        for cap in facts.qemu_elements(path):
            if not cap.get("capability"):
                yield ctx.finding(cap, "missing capability name")
    for device in facts.qemu_elements("override/device"):
        if device.get("alias") is None:
            yield ctx.finding(device, "missing 'alias' attribute for qemu:device")
    for prop in facts.qemu_properties:
        message = _property_refusal(prop.name, prop.type, prop.value)
        if message is not None:
            yield ctx.finding(prop.element, message)


def _env_refusal(env: etree._Element) -> str | None:
    name = env.get("name")
    if not name:
        return "No qemu environment name specified"
    if not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        return f"Invalid environment name, it must begin with a letter or underscore: '{name}'"
    if not _ENV_NAME_CHARACTERS.match(name):
        return (
            f"Invalid environment name, it must contain only alphanumerics and underscore: '{name}'"
        )
    return None


def _property_refusal(name: str | None, kind: str | None, value: str | None) -> str | None:
    if name is None:
        return "missing 'name' attribute for qemu:property"
    if name == "id":
        return "property with name 'id' can't be overridden"
    if kind == "remove":
        if value is not None:
            return (
                "setting 'value' attribute of 'qemu:property' doesn't make sense with 'remove' type"
            )
        return None
    if value is None:
        return "missing 'value' attribute for 'qemu:property'"
    if not _property_value_valid(kind, value):
        return f"invalid value '{value}' of 'value' attribute of 'qemu:property' (type {kind})"
    return None
