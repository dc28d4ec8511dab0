"""DX002: the domain against libvirt's own RelaxNG schema (domain.rng)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...findings import Finding
from ...rule import RuleContext, rule

if TYPE_CHECKING:
    from ... import schema

#: Most findings per file: one mistake near the root can break everything below it.
MAX_FINDINGS = 20

#: Elements libvirt's parser reads as absent when they are empty: text read with
#: virXPathString (which returns NULL for ""), and sysinfo blocks without entries.
#: Their schema problems are warnings: `virsh define` accepts the domain.
EMPTY_MEANS_ABSENT = {
    "domain": frozenset({"title", "description", "uuid"}),
    "os": frozenset({"kernel", "initrd", "cmdline", "dtb"}),
    "sysinfo": frozenset({"bios", "system", "baseBoard", "chassis"}),
}

#: Attributes whose value only the schema's pattern checks: libvirt's parser takes any
#: string (virDomainNetDefParseXML reads the bridge name as is; oVirt's vdsm names its
#: placeholder bridge ';vdsmdummy;'). (parent element, element, attribute)
PATTERN_ONLY = frozenset({("interface", "source", "bridge")})


@rule(
    code="DX002",
    name="schema-invalid",
    severity="error",
    summary="The domain does not validate against libvirt's RelaxNG schema (domain.rng)",
    options={"schema-dir": ""},
    libvirt=("virXMLValidateAgainstSchema",),
    yields=True,
)
def schema_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Validates the domain against the RelaxNG schema of the libvirt installed on
    this machine (`domain.rng`), as `virt-xml-validate` and `virsh define
    --validate` do, and reports each problem at the element or attribute it is
    about: an unknown element or attribute (with the nearest name the schema
    allows there), a value the schema does not accept (with the values it
    does), a required element or attribute that is missing, an element given
    twice, or an attribute that no form of its element takes together with the
    others.

    The schema is looked for in this order: the `DOMXML_LINT_SCHEMA_DIR`
    environment variable; the `schema-dir` setting (a directory holding
    `domain.rng`, relative to the configuration file); `/usr/share/libvirt/schemas`
    and `/usr/local/share/libvirt/schemas`; `${datarootdir}/libvirt/schemas` of a
    `libvirt.pc` on `PKG_CONFIG_PATH`. On Debian and Ubuntu the schemas come with
    the `libvirt0` package (installed with `libvirt-clients` or the daemon); on
    Fedora and RHEL with `libvirt-libs`. Without a schema the rule is silent, and
    `--verbose` says where it looked.

    At most 20 problems are reported per file. Where another rule reports an
    error on the same element (a rule that reproduces libvirt's own check and
    quotes its message, which `virsh define` prints), this rule's finding there
    is dropped: one problem, one finding.

    A problem is an error when libvirt's own parser refuses it too, or the schema
    wants something the domain does not have. Two kinds are warnings, because
    `virsh define` (without `--validate`) accepts them: an element or attribute
    the schema does not know, which libvirt skips (so the setting has no effect
    with this libvirt; a newer libvirt may know it), and an empty `<title>`,
    `<description>`, `<uuid>`, `<os><kernel>`, `<initrd>`, `<cmdline>`, `<dtb>`
    or an empty `<sysinfo>` block, which libvirt reads as absent (vagrant-libvirt
    and KubeVirt write these). So is an interface's bridge name outside the
    schema's pattern (oVirt's `;vdsmdummy;`): libvirt's parser takes any name.

    ## Why is this bad?
    libvirt reads only the names it knows: a misspelt element such as
    `<currentMemroy>` or attribute such as `cahce=` is dropped without a word,
    so the guest silently runs without the setting. A value libvirt does not
    know (`cache='unsafee'`) makes `virsh define` fail with "Invalid value for
    attribute ...", and `virsh define --validate`, `virt-install` and
    management tools that validate refuse every schema error outright.
    libxml2's own messages name only the top-level element ("Extra element
    devices in interleave"); these findings point at the line and say what the
    schema expects.

    ## Example
    ```xml
    <domain type='kvm'>
      <currentMemroy unit='GiB'>2</currentMemroy>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2' cache='unsafee'/>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
      <currentMemory unit='GiB'>2</currentMemory>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2' cache='none'/>
    ```

    ## Fix safety
    No fix: the nearest valid name is a suggestion, not necessarily what was meant.

    ## Source
    libvirt's RelaxNG schemas (`src/conf/schemas/domain.rng` and the files it
    includes, installed to `${datadir}/libvirt/schemas`); libvirt validates with
    them in `virXMLValidateAgainstSchema` (src/util/virxml.c) when a domain is
    defined with `VIR_DOMAIN_DEFINE_VALIDATE` (`virsh define --validate`), and
    `virt-xml-validate` uses the same files. Values outside an enumeration are
    also refused by libvirt's parser without `--validate`: "Invalid value for
    attribute '%s' in element '%s': '%s'." (`virXMLPropEnum`, src/util/virxml.c).
    Empty elements: `virXPathString` (src/util/virxml.c) returns NULL for an empty
    string, so `virDomainDefParseXML` treats an empty `<title>` or `<description>`
    as absent, generates a UUID for an empty `<uuid>`, and
    `virDomainDefParseBootKernelOptions` leaves kernel, initrd, cmdline and dtb
    unset; `virSysinfoParseXML` (src/conf/domain_conf.c) drops a block without
    entries.
    """
    from ... import schema  # lxml RelaxNG and the grammar: only when this rule runs

    location = schema.find_schema(ctx.option("schema-dir") or None)
    if location.directory is None:
        if location.explicit:
            why = (
                f"{location.origin} names {location.searched[0]}, which has no {schema.SCHEMA_FILE}"
            )
        else:
            why = (
                f"no libvirt schema found (looked for {schema.SCHEMA_FILE} in "
                f"{', '.join(location.searched)}); install libvirt's schemas (Debian/Ubuntu: "
                "libvirt0, which libvirt-clients pulls in) or set schema-dir"
            )
        ctx.note(why)  # -v shows a note shared by many files once
        return
    try:
        validator = schema.load_schema(location.directory)
    except schema.SchemaError as exc:
        ctx.note(f"cannot use libvirt's schema: {exc}")
        return
    problems = validator.problems(ctx.doc.root, limit=MAX_FINDINGS + 1)
    for problem in problems[:MAX_FINDINGS]:
        message, severity = problem.message, None
        if problem.kind == "unknown":
            severity = "warning"  # libvirt skips what it does not know: no refusal
        elif _pattern_only(problem):
            message += (
                " (libvirt's parser does not check it and accepts the domain; "
                "`virsh define --validate` and virt-xml-validate refuse it)"
            )
            severity = "warning"
        elif _empty_means_absent(problem):
            name = problem.element.tag
            message += (
                f" (libvirt reads an empty <{name}> as absent and accepts the domain; "
                "`virsh define --validate` and virt-xml-validate refuse it)"
            )
            severity = "warning"
        yield ctx.finding(problem.element, message, attribute=problem.attribute, severity=severity)
    if len(problems) > MAX_FINDINGS:
        ctx.note(
            f"more than {MAX_FINDINGS} problems against {validator.path}; the first "
            f"{MAX_FINDINGS} are reported"
        )


def _empty_means_absent(problem: schema.Problem) -> bool:
    """Whether the problem is an empty element that libvirt's parser reads as absent."""
    element = problem.element
    parent = element.getparent()
    if problem.attribute is not None or parent is None or not isinstance(element.tag, str):
        return False
    if element.tag not in EMPTY_MEANS_ABSENT.get(parent.tag, ()):
        return False
    return not (element.text or "") and len(element) == 0 and not element.attrib


def _pattern_only(problem: schema.Problem) -> bool:
    """Whether the problem is a value of an attribute that only the schema's pattern checks."""
    element = problem.element
    parent = element.getparent()
    if problem.attribute is None or parent is None or problem.kind != "invalid":
        return False
    return (parent.tag, element.tag, problem.attribute) in PATTERN_ONLY
