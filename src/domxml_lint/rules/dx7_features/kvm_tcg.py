"""DX740, DX744: accelerator features: KVM's dirty ring and TCG's translation cache."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.features import MIB
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

DIRTY_RING_RANGE = (1024, 65536)


@rule(
    code="DX740",
    name="kvm-dirty-ring-size-invalid",
    severity="error",
    summary="<kvm><dirty-ring state='on'> with a size that is not a power of two in 1024..65536",
    triggers=("dirty-ring",),
    domains=QEMU,
    libvirt=("virDomainFeaturesKVMDefParse",),
)
def kvm_dirty_ring_size_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<features><kvm><dirty-ring state='on' size='N'/>`: KVM's per-vCPU
    dirty page ring (used to track memory writes during migration) holds N
    entries, a power of two from 1024 to 65536.

    ## Why is this bad?
    libvirt's parser refuses the definition: "dirty ring must be power of 2
    and ranges [1024, 65536]".

    ## Example
    ```xml
    <features>
      <kvm>
        <dirty-ring state='on' size='5000'/>
      </kvm>
    </features>
    ```

    ## Use instead
    ```xml
    <dirty-ring state='on' size='4096'/>
    ```

    ## Fix safety
    No fix: the ring size trades memory for migration behaviour; the author
    picks it.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainFeaturesKVMDefParse`);
    formatdomain "Hypervisor features" (`kvm` `dirty-ring`).
    """
    ring = ctx.facts.dirty_ring
    if ring is None or ring.get("state") != "on":
        return
    size = parse_uint(ring.get("size"))
    low, high = DIRTY_RING_RANGE
    if size is None or (size & (size - 1)) == 0 and low <= size <= high:
        return  # a missing or malformed size is the schema's (DX002) to report
    yield ctx.finding(
        ring,
        f"dirty ring must be power of 2 and ranges [1024, 65536], not {size}",
        attribute="size",
    )


@rule(
    code="DX744",
    name="tcg-feature-invalid",
    severity="error",
    summary="<tcg><tb-cache> on a domain that is not type='qemu', or not a whole number of MiB",
    triggers=("tb-cache",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefFeatures",),
)
def tcg_feature_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<features><tcg><tb-cache>`, the size of QEMU's translation block
    cache: it tunes the TCG software emulator, so the domain must be
    `type='qemu'`, and the size a whole number of MiB.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "TCG features are
    incompatible with domain type '%s'" (a KVM or HVF guest runs no
    translator), "tb-cache size must be an integer multiple of MiB".

    ## Example
    ```xml
    <domain type='kvm'>
      ...
      <features>
        <tcg>
          <tb-cache unit='MiB'>128</tb-cache>
        </tcg>
      </features>
    ```

    ## Use instead
    ```xml
    <domain type='qemu'>
    ```

    ## Fix safety
    No fix: switching between KVM and TCG changes how the guest runs.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`),
    src/conf/domain_conf.c (`virDomainFeaturesTCGDefParse`); formatdomain
    "Hypervisor features" (`tcg`).
    """
    facts = ctx.facts
    tcg = facts.recorded("tcg")
    cache = facts.tb_cache
    if tcg is None or cache is None or cache.bytes is None:
        return  # libvirt records no TCG feature without a cache size
    if facts.virt_type != "qemu":
        yield ctx.finding(
            tcg.element,
            f"TCG features are incompatible with domain type '{facts.virt_type}'",
        )
        return
    kib = -(-cache.bytes // 1024)  # libvirt keeps the size in KiB, rounded up
    if kib % (MIB // 1024):
        yield ctx.finding(cache.element, "tb-cache size must be an integer multiple of MiB")
