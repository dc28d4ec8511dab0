"""DX960-DX964: ``<tpm>`` devices libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.peripherals import Tpm
from ...facts.values import child
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

PROXY_MODEL = "spapr-tpm-proxy"
#: The emulator QEMU guests run when the definition names none (for messages only).
DEFAULT_EMULATOR = "(the default emulator)"


@rule(
    code="DX960",
    name="tpm-count-invalid",
    severity="error",
    summary="More than one TPM, apart from one TPM proxy",
    triggers=("tpm",),
    libvirt=("virDomainDefParseXML", "qemuValidateDomainDefTPMs"),
)
def tpm_count_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts `<tpm>` devices: a guest has at most one TPM, plus (on pSeries)
    one `spapr-tpm-proxy`.

    ## Why is this bad?
    libvirt refuses the definition: "a maximum of two TPM devices is
    supported, one of them being a TPM Proxy device", "only a single TPM
    non-proxy device is supported", "only a single TPM Proxy device is
    supported".

    ## Example
    ```xml
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    <tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>
    ```

    ## Use instead
    ```xml
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    ```

    ## Fix safety
    No fix: which TPM to keep holds the guest's keys.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseXML`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDefTPMs`).
    """
    tpms = ctx.facts.tpms
    if len(tpms) > 2:
        yield ctx.finding(
            tpms[2].element,
            "a maximum of two TPM devices is supported, one of them being a TPM Proxy device",
        )
        return
    if ctx.facts.driver != "qemu":
        return
    seen_proxy = seen_regular = False
    for tpm in tpms:
        if tpm.model == PROXY_MODEL:
            if seen_proxy:
                yield ctx.finding(tpm.element, "only a single TPM Proxy device is supported")
            seen_proxy = True
        else:
            if seen_regular:
                yield ctx.finding(tpm.element, "only a single TPM non-proxy device is supported")
            seen_regular = True


@rule(
    code="DX961",
    name="tpm-external-source-invalid",
    severity="error",
    summary="An external TPM backend whose source is not a UNIX socket libvirt connects to",
    triggers=("tpm",),
    libvirt=("virDomainTPMDevValidate",),
)
def tpm_external_source_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<backend type='external'>`: its `<source>` must be of type
    `unix`, in `connect` mode, with a `path`.

    ## Why is this bad?
    An external TPM is a swtpm someone else started; QEMU connects to its
    socket. libvirt refuses the definition: "only source type 'unix' is
    supported for external TPM device", "only 'connect' mode is supported for
    external TPM device", "missing socket path for external TPM device".
    libvirt 9.0 words the mode message "only 'client' mode is supported"; the
    rule follows the target libvirt's wording (`libvirt-version`), 10.x's by
    default.

    ## Example
    ```xml
    <tpm model='tpm-tis'>
      <backend type='external'>
        <source type='unix' mode='bind' path='/run/swtpm/vm.sock'/>
      </backend>
    </tpm>
    ```

    ## Use instead
    ```xml
    <tpm model='tpm-tis'>
      <backend type='external'>
        <source type='unix' mode='connect' path='/run/swtpm/vm.sock'/>
      </backend>
    </tpm>
    ```

    ## Fix safety
    No fix: the socket is yours to name.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainTPMDevValidate`).
    """
    for tpm in ctx.facts.tpms:
        if tpm.backend_type != "external" or tpm.backend is None:
            continue
        source = child(tpm.backend, "source")
        where = source if source is not None else tpm.backend
        if source is None or source.get("type") != "unix":
            yield ctx.finding(where, "only source type 'unix' is supported for external TPM device")
        elif source.get("mode") == "bind":
            # libvirt 9.0 said 'client' mode; 10.x says 'connect'.
            mode = "connect" if ctx.libvirt_at_least(10, 0) else "client"
            yield ctx.finding(
                where, f"only '{mode}' mode is supported for external TPM device", attribute="mode"
            )
        elif source.get("path") is None:
            yield ctx.finding(where, "missing socket path for external TPM device")


def _version_problem(facts, tpm: Tpm) -> str | None:
    banks = tpm.backend is not None and child(tpm.backend, "active_pcr_banks") is not None
    # Only a written version: whether libvirt has filled in its default by then is
    # not something its test data settles.
    written = tpm.written_version
    if banks and written is not None and written != "2.0":
        return "<active_pcr_banks/> requires TPM version '2.0'"
    if facts.driver != "qemu" or tpm.version != "1.2":
        return None
    if tpm.model != "tpm-tis":
        return f"TPM 1.2 is not supported for model '{tpm.model}'"
    if not facts.is_x86:
        return f"TPM 1.2 is not supported on architecture '{facts.arch}'"
    return None


@rule(
    code="DX962",
    name="tpm-version-invalid",
    severity="error",
    summary="A TPM 1.2 on a model or architecture without it, or PCR banks on a TPM that "
    "is not 2.0",
    triggers=("tpm",),
    libvirt=("virDomainTPMDevValidate", "qemuValidateDomainDeviceDefTPM"),
)
def tpm_version_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks emulated TPMs against their version (libvirt's QEMU default is
    1.2 for `tpm-tis` on x86 and 2.0 otherwise): `<active_pcr_banks>` needs
    a TPM written as version 2.0; TPM 1.2 exists only as `tpm-tis` on x86.

    ## Why is this bad?
    libvirt refuses the definition: "<active_pcr_banks/> requires TPM version
    '2.0'", "TPM 1.2 is not supported for model 'tpm-crb'", "TPM 1.2 is not
    supported on architecture 'aarch64'".

    ## Example
    ```xml
    <tpm model='tpm-crb'>
      <backend type='emulator' version='1.2'/>
    </tpm>
    ```

    ## Use instead
    ```xml
    <tpm model='tpm-crb'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    ```

    ## Fix safety
    No fix: TPM 1.2 and 2.0 state are not compatible; changing the version
    loses the guest's keys.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainTPMDevValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefTPM`),
    src/qemu/qemu_domain.c (`qemuDomainTPMDefPostParse`: the defaults).
    """
    facts = ctx.facts
    for tpm in facts.tpms:
        if tpm.backend_type != "emulator" or tpm.backend is None:
            continue
        message = _version_problem(facts, tpm)
        if message is not None:
            attribute = "version" if tpm.written_version is not None else None
            yield ctx.finding(tpm.backend, message, attribute=attribute)


@rule(
    code="DX963",
    name="tpm-proxy-backend-invalid",
    severity="error",
    summary="A pSeries TPM proxy with a backend other than passthrough",
    triggers=("tpm",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefTPM",),
)
def tpm_proxy_backend_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<tpm model='spapr-tpm-proxy'>` on ppc64 guests whose backend is
    not `passthrough`.

    ## Why is this bad?
    The proxy forwards the host's TPM to the guest; there is nothing to
    emulate. libvirt refuses the definition: "TPM Proxy model
    spapr-tpm-proxy requires 'Passthrough' backend".

    ## Example
    ```xml
    <tpm model='spapr-tpm-proxy'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    ```

    ## Use instead
    ```xml
    <tpm model='spapr-tpm-proxy'>
      <backend type='passthrough'>
        <device path='/dev/tpmrm0'/>
      </backend>
    </tpm>
    ```

    ## Fix safety
    No fix: the backend decides whose TPM the guest sees.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefTPM`).
    """
    facts = ctx.facts
    if facts.arch not in ("ppc64", "ppc64le"):
        return
    for tpm in facts.tpms:
        if tpm.model == PROXY_MODEL and tpm.backend_type != "passthrough":
            yield ctx.finding(
                tpm.backend if tpm.backend is not None else tpm.element,
                f"TPM Proxy model {PROXY_MODEL} requires 'Passthrough' backend",
            )


@rule(
    code="DX964",
    name="tpm-unsupported-by-qemu",
    severity="error",
    summary="A TPM model, backend type or version the host's QEMU does not offer "
    "(domain capabilities)",
    triggers=("tpm",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefTPM",),
)
def tpm_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares each `<tpm>` with what the host's QEMU offers (`virsh
    domcapabilities`, `<devices><tpm>`): an emulated TPM's written `version`
    must be a `backendVersion` (libvirt accepts the default it picks itself,
    1.2 for `tpm-tis` on x86, whatever the host's swtpm offers, as its own
    tests show), the backend type a `backendModel`, the model (default
    `tpm-tis`, `tpm-spapr` on ppc64) a `model`. libvirt fills these lists
    from the emulator binary, so when the snapshot has no document for the
    guest's own machine type, one for another machine of the same emulator
    answers.

    ## Why is this bad?
    libvirt refuses the definition: "TPM version '1.2' is not supported"
    (the host's swtpm has no TPM 1.2), "The QEMU executable
    /usr/bin/qemu-system-x86_64 does not support TPM backend type
    passthrough", "The QEMU executable ... does not support TPM model
    tpm-crb".

    ## Example
    ```xml
    <tpm model='tpm-tis'>
      <backend type='emulator' version='1.2'/>
    </tpm>
    ```

    ## Use instead
    ```xml
    <tpm model='tpm-crb'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    ```

    ## Fix safety
    No fix: TPM 1.2 and 2.0 state are not compatible.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefTPM`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceTPMCaps`).
    """
    caps = ctx.device_caps
    if caps is None:
        return
    versions = caps.enum("devices/tpm", "backendVersion")
    backends = caps.enum("devices/tpm", "backendModel")
    models = caps.enum("devices/tpm", "model")
    emulator = _emulator(ctx.facts) or caps.path or DEFAULT_EMULATOR
    for tpm in ctx.facts.tpms:
        where = tpm.backend if tpm.backend is not None else tpm.element
        written = tpm.written_version
        if tpm.backend_type == "emulator" and versions is not None and written is not None:
            if written not in versions:
                yield ctx.finding(where, f"TPM version '{written}' is not supported")
                continue
        if backends is not None and tpm.backend_type is not None:
            if tpm.backend_type not in backends:
                yield ctx.finding(
                    where,
                    f"The QEMU executable {emulator} does not support TPM backend type "
                    f"{tpm.backend_type}",
                    attribute="type",
                )
                continue
        if models is not None and tpm.model not in models:
            yield ctx.finding(
                tpm.element,
                f"The QEMU executable {emulator} does not support TPM model {tpm.model}",
                attribute="model" if tpm.element.get("model") is not None else None,
            )


def _emulator(facts) -> str | None:
    if facts.devices is None:
        return None
    element = child(facts.devices, "emulator")
    return None if element is None else (element.text or "").strip() or None


@rule(
    code="DX970",
    name="tpm-backend-missing",
    severity="error",
    summary="A <tpm> without a <backend>",
    triggers=("tpm",),
    libvirt=("virDomainTPMDefParseXML",),
)
def tpm_backend_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<tpm>` devices without a `<backend>`: the element that says
    whether the guest gets an emulated TPM (swtpm), the host's TPM, or an
    external one.

    ## Why is this bad?
    libvirt's parser refuses the definition: "missing TPM device backend".
    The schema refuses it too, in its own words; this rule gives libvirt's,
    and the schema rule's finding on the same element gives way to it.

    ## Example
    ```xml
    <tpm model='tpm-crb'/>
    ```

    ## Use instead
    ```xml
    <tpm model='tpm-crb'>
      <backend type='emulator' version='2.0'/>
    </tpm>
    ```

    ## Fix safety
    No fix: the backend decides whose TPM the guest sees.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainTPMDefParseXML`); libvirt test
    tpm-no-backend-invalid.
    """
    for tpm in ctx.facts.tpms:
        if tpm.backend is None:
            yield ctx.finding(tpm.element, "missing TPM device backend")
