"""DX446: virtio-scsi-only options on other controllers."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import VIRTIO_SCSI_MODELS
from ...findings import Finding
from ...rule import RuleContext, rule

#: <controller><driver> attributes only virtio-scsi takes, and QEMU's words for each.
VIRTIO_SCSI_OPTIONS = (
    ("queues", "'queues' is only supported by virtio-scsi controller"),
    ("cmd_per_lun", "'cmd_per_lun' is only supported by virtio-scsi controller"),
    ("max_sectors", "'max_sectors' is only supported by virtio-scsi controller"),
    ("ioeventfd", "'ioeventfd' is only supported by virtio-scsi controller"),
)


@rule(
    code="DX446",
    name="scsi-controller-virtio-only-option",
    severity="error",
    summary="A virtio-scsi-only controller option (queues, iothread ...) on another controller",
    fix="safe",
    triggers=("controller",),
    libvirt=("qemuValidateDomainDeviceDefControllerAttributes",),
)
def scsi_controller_virtio_only_option(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds controllers that are not virtio-scsi (`model='virtio-scsi'`,
    `virtio-transitional` or `virtio-non-transitional`) but whose `<driver>`
    sets `iothread` (any driver), or, for QEMU/KVM, `queues`, `cmd_per_lun`,
    `max_sectors` or `ioeventfd` (a SCSI controller without a model is skipped
    for these: QEMU picks its default model).

    ## Why is this bad?
    These are virtio-scsi device properties. libvirt refuses the definition:
    "'iothread' attribute only supported for virtio scsi controllers" (parse
    error, proven on libvirt 9.0; a SCSI controller without a model counts as
    not virtio-scsi here), and the QEMU driver "'queues' is only supported by
    virtio-scsi controller" (and likewise for `cmd_per_lun`, `max_sectors`,
    `ioeventfd`).

    ## Example
    ```xml
    <controller type='scsi' index='0' model='lsilogic'>
      <driver queues='4'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='scsi' index='0' model='virtio-scsi'>
      <driver queues='4'/>
    </controller>
    ```

    ## Fix safety
    Safe: the fix removes the option; the definition is refused as written.
    It does not change the controller model, which the guest would see.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainControllerDefParseXML`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerAttributes`);
    libvirt test controller-virtio-serial-iothread.err; formatdomain
    "Controllers"; guide 7.4 (virtio-scsi).
    """
    facts = ctx.facts
    for controller in facts.controllers:
        driver = controller.driver
        if driver is None:
            continue
        if controller.type == "scsi" and controller.model in VIRTIO_SCSI_MODELS:
            continue
        label = f"controller {controller.type} index {controller.element.get('index', '0')}"
        if controller.model:
            label += f" (model '{controller.model}')"
        problems = []
        if driver.get("iothread") is not None:
            problems.append(
                ("iothread", "'iothread' attribute only supported for virtio scsi controllers")
            )
        model_known = controller.type != "scsi" or controller.model is not None
        if facts.driver == "qemu" and model_known:
            problems += [
                (name, text) for name, text in VIRTIO_SCSI_OPTIONS if driver.get(name) is not None
            ]
        if problems:
            yield ctx.finding(
                driver,
                f"{label}: " + "; ".join(text for _, text in problems),
                attribute=problems[0][0],
                fix=ctx.safe_fix(
                    "Remove the virtio-scsi-only option(s)",
                    *(ctx.edit.remove_attribute(driver, name) for name, _ in problems),
                ),
            )
