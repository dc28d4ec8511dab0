"""DX973, DX978: RNG and crypto devices the host's QEMU does not offer (domain capabilities)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: libvirt's message per RNG backend model (``qemuValidateDomainRNGDef``).
_RNG_BACKENDS = {
    "random": "this qemu doesn't support the rng-random backend",
    "egd": "this qemu doesn't support the rng-egd backend",
    "builtin": "this qemu doesn't support the rng-builtin backend",
}


@rule(
    code="DX973",
    name="rng-unsupported",
    severity="error",
    summary="An <rng> whose model or backend the host's QEMU does not offer",
    triggers=("rng",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainRNGDef",),
)
def rng_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares each `<rng>` of a QEMU/KVM guest with the host's domain
    capabilities for the guest's machine: its `<backend model=...>` must be
    in `<rng><enum name='backendModel'>` (random, egd, builtin) and its
    `model` in `<enum name='model'>` (virtio, virtio-transitional,
    virtio-non-transitional).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "this qemu doesn't support
    the rng-builtin backend" (QEMU before 4.2 has no `rng-builtin`), "domain
    configuration does not support rng model 'virtio-transitional'" (a QEMU
    without virtio-rng, or a machine without PCI for the transitional models).

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <rng model='virtio'>
      <backend model='builtin'/>
    </rng>
    ```

    ## Use instead
    ```xml
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
    ```

    ## Fix safety
    No fix: the entropy source is the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainRNGDef`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceRNGCaps`);
    formatdomaincaps "RNG device"; formatdomain
    "Random number generator device".
    """
    caps = ctx.domain_caps
    if caps is None:
        return
    backends = caps.enum("devices/rng", "backendModel")
    models = caps.enum("devices/rng", "model")
    for rng in ctx.facts.rngs:
        backend = rng.backend_model
        if backends is not None and backend in _RNG_BACKENDS and backend not in backends:
            assert rng.backend is not None
            yield ctx.finding(rng.backend, _RNG_BACKENDS[backend], attribute="model")
        elif models is not None and rng.model is not None and rng.model not in models:
            yield ctx.finding(
                rng.element,
                f"domain configuration does not support rng model '{rng.model}'",
                attribute="model",
            )


@rule(
    code="DX978",
    name="crypto-unsupported",
    severity="error",
    summary="A <crypto> device whose model, type or backend the host's QEMU does not offer",
    triggers=("crypto",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefCrypto",),
)
def crypto_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares each `<crypto>` device of a QEMU/KVM guest with the host's
    domain capabilities for the guest's machine: `model` must be in
    `<crypto><enum name='model'>`, `type` in `<enum name='type'>` and
    `<backend model=...>` in `<enum name='backendModel'>` (builtin, lkcf).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "crypto model virtio is not
    supported" (a QEMU without virtio-crypto), "crypto type qemu is not
    supported", "crypto backend lkcf is not supported" (QEMU before 7.1 has
    no Linux kernel crypto backend).

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <crypto model='virtio' type='qemu'>
      <backend model='lkcf' queues='1'/>
    </crypto>
    ```

    ## Use instead
    ```xml
    <crypto model='virtio' type='qemu'>
      <backend model='builtin' queues='1'/>
    </crypto>
    ```

    ## Fix safety
    No fix: the backend is the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefCrypto`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceCryptoCaps`);
    formatdomaincaps "Crypto device"; formatdomain "Devices" (Crypto).
    """
    caps = ctx.domain_caps
    if caps is None:
        return
    section = "devices/crypto"
    for crypto in ctx.facts.cryptos:
        for value, enum, word in (
            (crypto.model, "model", "model"),
            (crypto.type, "type", "type"),
            (crypto.backend_model, "backendModel", "backend"),
        ):
            offered = caps.enum(section, enum)
            if value is not None and offered is not None and value not in offered:
                yield ctx.finding(crypto.element, f"crypto {word} {value} is not supported")
                break
