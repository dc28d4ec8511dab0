"""DX641: USB disabled while USB devices or controllers remain."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule


def _usb_disabled(facts):
    """The ``<controller type='usb' model='none'>`` element, if USB is disabled."""
    for controller in facts.controllers:
        if controller.type == "usb" and controller.model == "none":
            return controller.element
    return None


@rule(
    code="DX641",
    name="usb-disabled-conflict",
    severity="error",
    summary="USB is disabled (model='none') but a USB controller or USB device is defined",
    triggers=("controller",),
    libvirt=("virDomainDefMaybeAddController", "virDomainRedirdevDefValidate"),
)
def usb_disabled_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    When a `<controller type='usb' model='none'/>` disables USB, finds other
    USB controllers, USB input devices, USB redirection, USB host devices and
    USB hubs.

    ## Why is this bad?
    libvirt refuses the definition (all proven on libvirt 9.0): "Can't add
    another USB controller: USB is disabled for this domain", "Can't add USB
    input device. USB bus is disabled", "cannot add redirected USB device: USB
    is disabled for this domain", "Can't add host USB device: USB is disabled
    in this host", "Can't add USB hub: USB is disabled for this domain". The
    real-time kbase recommends `model='none'`; the tablet that virt-install
    adds by default then has to go (or use `bus='virtio'`).

    ## Example
    ```xml
    <controller type='usb' model='none'/>
    <input type='tablet' bus='usb'/>
    ```

    ## Use instead
    ```xml
    <controller type='usb' model='none'/>
    <input type='tablet' bus='virtio'/>
    ```

    ## Fix safety
    No fix: whether to keep USB or drop the device is the author's call.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseXML` USB checks,
    `virDomainDefMaybeAddController`), src/conf/domain_validate.c
    (`virDomainRedirdevDefValidate`); formatdomain "Controllers" (USB
    `model='none'`); kbase kvm-realtime.
    """
    facts = ctx.facts
    disabled = _usb_disabled(facts)
    if disabled is None:
        return
    for controller in facts.controllers:
        if controller.type == "usb" and controller.element is not disabled:
            yield ctx.finding(
                controller.element,
                "Can't add another USB controller: USB is disabled for this domain",
            )
    checks = (
        ("input", "bus", "Can't add USB input device. USB bus is disabled"),
        ("redirdev", "bus", "cannot add redirected USB device: USB is disabled for this domain"),
        ("hostdev", "type", "Can't add host USB device: USB is disabled in this host"),
        ("hub", "type", "Can't add USB hub: USB is disabled for this domain"),
    )
    for tag, attribute, message in checks:
        for element in facts.device_elements(tag):
            if element.get(attribute) == "usb":
                yield ctx.finding(element, message, attribute=attribute)
