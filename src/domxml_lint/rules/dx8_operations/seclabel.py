"""DX845-DX846: security labels (``<seclabel>``) libvirt refuses."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.domain_settings import MAX_LABEL_LENGTH
from ...findings import Finding
from ...rule import RuleContext, rule


@rule(
    code="DX845",
    name="seclabel-invalid",
    severity="error",
    summary="A domain <seclabel> whose type, relabel, label or model libvirt refuses",
    triggers=("seclabel",),
    libvirt=("virSecurityLabelDefParseXML", "virSecurityLabelDefsParseXML"),
)
def seclabel_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the domain's `<seclabel>` elements as libvirt parses a definition:
    a `dynamic` label relabels (no `relabel='no'`); a `none` label does not
    (no `relabel='yes'`); a `static` label has a `<label>` (shorter than 4096
    characters); no two labels name the same `model`; a lone label without
    `model` is `none` or a plain `dynamic` one (libvirt then takes the host's
    security driver); with several labels each names its `model`.

    ## Why is this bad?
    libvirt refuses the definition: "dynamic label type must use resource
    relabeling", "resource relabeling is not compatible with 'none' label
    type", "security label is missing", "seclabel for model dac is already
    provided", "missing security model in domain seclabel", "missing security
    model when using multiple labels". A static label without `model` cannot
    work because libvirt cannot know which security driver the label is for.

    ## Example
    ```xml
    <seclabel type='static' relabel='no'>
      <label>system_u:system_r:svirt_t:s0:c392,c662</label>
    </seclabel>
    ```

    ## Use instead
    ```xml
    <seclabel type='static' model='selinux' relabel='no'>
      <label>system_u:system_r:svirt_t:s0:c392,c662</label>
    </seclabel>
    ```

    ## Fix safety
    No fix: the security driver and labels are the host administrator's.

    ## Source
    libvirt src/conf/domain_conf.c (`virSecurityLabelDefParseXML`,
    `virSecurityLabelDefsParseXML`); src/security/security_dac.c
    (`virSecurityDACGenLabel`: "missing label for static security driver",
    reached only past the parse check above); formatdomain "Security label".
    """
    labels = ctx.facts.seclabels
    seen: set[str] = set()
    for label in labels:
        element = label.element
        if label.relabel_attr == "no" and label.type == "dynamic":
            yield ctx.finding(
                element, "dynamic label type must use resource relabeling", attribute="relabel"
            )
        elif label.relabel_attr == "yes" and label.type == "none":
            yield ctx.finding(
                element,
                "resource relabeling is not compatible with 'none' label type",
                attribute="relabel",
            )
        elif label.type == "static" and label.model != "none":
            if label.label is None:
                yield ctx.finding(
                    element, "security label is missing: a static label needs a <label>"
                )
            elif len(label.label) >= MAX_LABEL_LENGTH:
                assert label.label_element is not None
                yield ctx.finding(
                    label.label_element,
                    f"security label is missing: libvirt drops a <label> of "
                    f"{len(label.label)} characters (at most {MAX_LABEL_LENGTH - 1})",
                )
        if label.model is not None:
            if label.model in seen:
                yield ctx.finding(
                    element,
                    f"seclabel for model {label.model} is already provided",
                    attribute="model",
                )
            seen.add(label.model)
    if len(labels) == 1 and labels[0].model is None:
        label = labels[0]
        if not (label.type == "none" or (label.type == "dynamic" and label.baselabel is None)):
            yield ctx.finding(
                label.element,
                f"missing security model in domain seclabel: a {label.type} label "
                + ("with a <baselabel> " if label.baselabel is not None else "")
                + "must name its model",
            )
    elif len(labels) > 1:
        for label in labels:
            if label.model is None:
                yield ctx.finding(
                    label.element, "missing security model when using multiple labels"
                )


@rule(
    code="DX846",
    name="seclabel-override-invalid",
    severity="error",
    summary="A per-device <seclabel> override libvirt refuses",
    triggers=("seclabel",),
    libvirt=("virSecurityDeviceLabelDefParseXML", "virSecurityDeviceLabelDefValidate"),
)
def seclabel_override_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<seclabel>` overrides in disk and character device sources:
    no two name the same `model`; one with `relabel='no'` has no `<label>`;
    one with `relabel='yes'` has one (libvirt 10.7; libvirt 9.0 accepted it
    without); and an override's model is relabelled at the domain level (its
    domain `<seclabel>` is dynamic, or says `relabel='yes'`).

    ## Why is this bad?
    libvirt refuses the definition: "seclabel for model selinux is already
    provided", "Cannot specify a label if relabelling is turned off.
    model=dac", "Cannot specify relabel if label is missing. model=selinux",
    "label overrides require relabeling to be enabled at the domain level".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/data.img'>
        <seclabel model='selinux' relabel='yes'/>
      </source>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <source file='/var/lib/libvirt/images/data.img'>
      <seclabel model='selinux' relabel='yes'>
        <label>system_u:object_r:svirt_image_t:s0</label>
      </seclabel>
    </source>
    ```

    ## Fix safety
    No fix: the label is the host administrator's.

    ## Source
    libvirt src/conf/domain_conf.c (`virSecurityDeviceLabelDefParseXML`),
    src/conf/domain_validate.c (`virSecurityDeviceLabelDefValidate`);
    formatdomain "Security label".
    """
    facts = ctx.facts
    domain_relabel = {label.model: label.relabel for label in facts.seclabels if label.model}
    seen: set[tuple[int, str]] = set()
    for override in facts.device_seclabels:
        element = override.element
        model = override.model
        shown = model or "<null>"
        if model is not None:
            key = (id(override.owner), model)
            if key in seen:
                yield ctx.finding(
                    element, f"seclabel for model {model} is already provided", attribute="model"
                )
                continue
            seen.add(key)
        if override.label is not None and not override.relabel:
            yield ctx.finding(
                element,
                f"Cannot specify a label if relabelling is turned off. model={shown}",
                attribute="relabel",
            )
        elif (
            override.relabel_attr == "yes"
            and override.label is None
            and ctx.libvirt_at_least(10, 7)
        ):
            yield ctx.finding(
                element,
                f"Cannot specify relabel if label is missing. model={shown}",
                attribute="relabel",
            )
        elif model is not None and domain_relabel.get(model) is False:
            yield ctx.finding(
                element,
                "label overrides require relabeling to be enabled at the domain level "
                f"(the domain's {model} <seclabel> does not relabel)",
            )
