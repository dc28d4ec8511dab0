"""DX464-DX466: each image of a disk's chain: authentication, encryption, backing stores.

libvirt checks every source of the chain (the disk's own, then each
``<backingStore>``) in ``virDomainDiskDefValidateSourceChainOne`` and
``qemuDomainValidateStorageSource``, and refuses a backing store under a format
that cannot have one when it builds QEMU's command line.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import BACKING_FORMATS, Disk, Encryption, StorageSource
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: Network protocols whose sources cannot authenticate (virDomainDiskDefValidateSourceChainOne).
PROTOCOLS_WITHOUT_AUTH = frozenset({"nbd", "sheepdog", "gluster", "tftp", "vxhs", "nfs"})

#: The secret usage type each protocol's ``<auth>`` needs.
SECRET_TYPE_OF_PROTOCOL = {"iscsi": "iscsi", "rbd": "ceph"}

#: libvirt's secret usage types (virSecretUsageType); others are unknown to it.
SECRET_USAGE_TYPES = frozenset({"none", "volume", "ceph", "iscsi", "tls", "vtpm"})


def _where(disk: Disk, source: StorageSource) -> str:
    """``disk 'vda'``, or ``disk 'vda' backing image 2`` for a link of its chain."""
    return disk.label if source.depth == 0 else f"{disk.label} backing image {source.depth}"


@rule(
    code="DX464",
    name="disk-auth-invalid",
    severity="error",
    summary="Disk <auth> given twice, on a protocol without authentication, or with the "
    "wrong secret type",
    triggers=("auth",),
    libvirt=("virDomainDiskDefParseSourceXML", "virDomainDiskDefValidateSourceChainOne"),
)
def disk_auth_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<auth>` of every source of a disk's chain: a disk has one
    `<auth>`, inside `<source>` or beside it, not both; the network protocol
    must support authentication (iSCSI, RBD, HTTP(S), FTP(S) and SSH do;
    NBD, Gluster, Sheepdog, TFTP, VxHS and NFS do not); and the secret must
    be of a type libvirt knows (a `<secret>` without `type` is "unknown secret
    type '<null>'") and of the protocol's usage type: `iscsi` for iSCSI,
    `ceph` for RBD.

    ## Why is this bad?
    libvirt refuses the definition: "an <auth> definition already found for
    disk source", "authentication is not supported for protocol 'nbd'",
    "invalid secret type 'ceph'" (each proven on libvirt 9.0). The schema
    allows a disk-level `<auth>` on any disk, and either secret type on any
    protocol.

    ## Example
    ```xml
    <disk type='network' device='disk'>
      <auth username='admin'>
        <secret type='ceph' usage='storage-admin'/>
      </auth>
      <source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-pool/1'>
        <host name='iscsi.example.com' port='3260'/>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
      <auth username='admin'>
        <secret type='iscsi' usage='storage-admin'/>
      </auth>
    ```

    ## Fix safety
    No fix: the secret object on the host decides which usage is right.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDiskDefParseSourceXML`),
    src/conf/domain_validate.c (`virDomainDiskDefValidateSourceChainOne`);
    libvirt tests disk-network-iscsi-auth-wrong-secrettype and
    disk-network-iscsi-auth-secrettype-invalid (where the schema also refuses
    the missing `type`: this rule's finding, in libvirt's words, replaces
    schema-invalid's there).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            where = _where(disk, source)
            if len(source.auth_elements) > 1:
                yield ctx.finding(
                    source.auth_elements[1],
                    f"{where}: an <auth> definition already found for disk source (one inside "
                    "<source> and one beside it)",
                )
            auth = source.auth
            if auth is None or not source.is_network:
                continue
            if auth.secret is not None and auth.secret_type not in SECRET_USAGE_TYPES:
                # virSecretUsageTypeFromString fails; libvirt prints NULL as '<null>'.
                written = auth.secret_type if auth.secret_type is not None else "<null>"
                yield ctx.finding(auth.secret, f"{where}: unknown secret type '{written}'")
                continue
            protocol = source.protocol
            if protocol in PROTOCOLS_WITHOUT_AUTH:
                yield ctx.finding(
                    auth.element,
                    f"{where}: authentication is not supported for protocol '{protocol}'",
                )
                continue
            wanted = SECRET_TYPE_OF_PROTOCOL.get(protocol or "")
            actual = auth.secret_type
            if wanted and actual in SECRET_USAGE_TYPES and actual != wanted:
                yield ctx.finding(
                    auth.element,
                    f"{where}: invalid secret type '{actual}' (protocol '{protocol}' needs a "
                    f"secret of type '{wanted}')",
                )


@rule(
    code="DX465",
    name="disk-encryption-invalid",
    severity="error",
    summary="Disk <encryption> that libvirt's QEMU driver refuses: given twice, legacy qcow, "
    "LUKS on another format, <cipher>, several secrets, librbd off RBD or on a QEMU without it",
    fix="safe",
    triggers=("encryption",),
    domains=QEMU,
    libvirt=(
        "virDomainDiskDefParseSourceXML",
        "virDomainDiskDefValidateSourceChainOne",
        "qemuDomainValidateStorageSource",
        "qemuValidateDomainDeviceDefDisk",
    ),
)
def disk_encryption_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<encryption>` of every source of a disk's chain:

    - one `<encryption>` per disk, inside `<source>` or beside it;
    - LUKS takes no `<cipher>`/`<ivgen>` (the image header has them);
    - qcow/qcow2 images cannot use the legacy qcow encryption
      (`format='qcow'` or `'default'`);
    - with QEMU's own encryption engine (the default): LUKS only on raw or
      qcow2 images, no `luks2` or `luks-any`, a single `<secret>`;
    - `engine='librbd'` only on RBD sources, and a QEMU with librbd
      encryption (6.1 and later, built with librbd); several secrets
      (layering) and `format='luks-any'` need QEMU 8.0. What the guest's QEMU
      has comes from the host snapshot's QEMU capabilities, else from
      `qemu-version` (older than 6.1 or 8.0); otherwise those checks stay
      silent (`-v` says why);
    - an SD card takes a single secret.

    ## Why is this bad?
    libvirt refuses the definition: "an <encryption> definition already
    found for disk source", "supplying <cipher> for domain disk definition is
    unnecessary" (both proven on libvirt 9.0), "old qcow/qcow2 encryption is
    not supported", "encryption is supported only with 'raw' and 'qcow2'
    image format", "'luks2' is currently not supported by the qemu encryption
    engine", "qemu encryption engine expects only a single secret", "librbd
    encryption is supported only with RBD backed disks", "librbd encryption
    is not supported by this QEMU binary", "librbd encryption layering is not
    supported by this QEMU binary", "luks-any encryption is not supported by
    this QEMU binary", "sd card 'mmcblk0' does not support multiple
    encryption secrets".

    ## Example
    ```xml
    <encryption format='luks'>
      <secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>
      <cipher name='aes' size='256' mode='xts' hash='sha256'/>
      <ivgen name='plain64' hash='sha256'/>
    </encryption>
    ```

    ## Use instead
    ```xml
    <encryption format='luks'>
      <secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>
    </encryption>
    ```

    ## Fix safety
    Safe for `<cipher>`: the fix removes `<cipher>` and `<ivgen>`, which QEMU
    reads from the LUKS header anyway, from a definition libvirt refuses as
    written. No fix otherwise: the image must be converted, or the secrets
    or engine chosen by the author.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDiskDefParseSourceXML`),
    src/conf/domain_validate.c (`virDomainDiskDefValidateSourceChainOne`),
    src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDisk`); libvirt test
    luks-disk-invalid.
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            yield from _encryption_findings(ctx, disk, source)


def _encryption_findings(ctx: RuleContext, disk: Disk, source: StorageSource) -> Iterator[Finding]:
    where = _where(disk, source)
    if len(source.encryption_elements) > 1:
        yield ctx.finding(
            source.encryption_elements[1],
            f"{where}: an <encryption> definition already found for disk source (one inside "
            "<source> and one beside it)",
        )
    encryption = source.encryption
    if encryption is None:
        return
    element = encryption.element
    kind = encryption.format
    if kind == "luks" and encryption.cipher is not None:
        edits = [ctx.edit.remove_element(encryption.cipher)]
        ivgen = next(element.iterchildren("ivgen"), None)
        if ivgen is not None:
            edits.append(ctx.edit.remove_element(ivgen))
        yield ctx.finding(
            encryption.cipher,
            f"{where}: supplying <cipher> for domain disk definition is unnecessary (a LUKS "
            "image names its cipher in its header)",
            fix=ctx.safe_fix("Remove <cipher> and <ivgen>", *edits),
        )
        return
    image = source.format or (None if source.type == "volume" else "raw")
    if image in ("qcow", "qcow2") and kind in ("default", "qcow"):
        yield ctx.finding(
            element,
            f"{where}: old qcow/qcow2 encryption is not supported (use format='luks' in a "
            "qcow2 image)",
            attribute="format",
        )
        return
    engine = encryption.engine or "qemu"
    if engine == "qemu":
        if kind == "luks" and image is not None and image not in ("raw", "qcow2"):
            yield ctx.finding(
                element,
                f"{where}: encryption is supported only with 'raw' and 'qcow2' image format, "
                f"not '{image}'",
                attribute="format",
            )
        elif kind in ("luks2", "luks-any"):
            yield ctx.finding(
                element,
                f"{where}: '{kind}' is currently not supported by the qemu encryption engine "
                "(only engine='librbd' reads it)",
                attribute="format",
            )
        elif len(encryption.secrets) > 1:
            yield ctx.finding(
                encryption.secrets[1],
                f"{where}: qemu encryption engine expects only a single secret",
            )
        return
    if engine == "librbd" and source.protocol != "rbd":
        yield ctx.finding(
            element,
            f"{where}: librbd encryption is supported only with RBD backed disks",
            attribute="engine",
        )
    elif engine == "librbd" and (problem := _librbd_unsupported(ctx, encryption)):
        yield ctx.finding(element, f"{where}: {problem}", attribute="engine")
    elif disk.effective_bus == "sd" and source.depth == 0 and len(encryption.secrets) > 1:
        yield ctx.finding(
            encryption.secrets[1],
            f"sd card '{disk.dev}' does not support multiple encryption secrets",
        )


def _librbd_unsupported(ctx: RuleContext, encryption: Encryption) -> str | None:
    """What the guest's QEMU lacks for librbd encryption (``qemuDomainValidateStorageSource``):
    librbd encryption at all (QEMU 6.1), layering several secrets or luks-any (QEMU 8.0)."""
    asked = [("rbd-encryption", "librbd encryption is not supported by this QEMU binary")]
    if len(encryption.secrets) > 1:
        message = "librbd encryption layering is not supported by this QEMU binary"
        asked.append(("rbd-encryption-layering", message))
    if encryption.format == "luks-any":
        message = "luks-any encryption is not supported by this QEMU binary"
        asked.append(("rbd-encryption-luks-any", message))
    for flag, message in asked:
        why = ctx.qemu_lacks(flag)
        if why:
            return f"{message}: {why}"
    return None


@rule(
    code="DX466",
    name="backing-store-unsupported",
    severity="error",
    summary="A <backingStore> under an image format that cannot have one (raw, iso ...)",
    triggers=("backingStore",),
    domains=QEMU,
    libvirt=("qemuBlockStorageSourceGetFormatProps",),
)
def backing_store_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Walks each disk's chain and finds a `<backingStore type=...>` (a real
    backing image, not the empty `<backingStore/>` terminator) below an
    image whose format cannot refer to a backing file: anything but qcow2,
    qcow, qed, vmdk and cow. An unset format is raw.

    ## Why is this bad?
    Only copy-on-write formats have a backing file; a raw image has no
    header to name one. libvirt accepts the definition but fails to start
    the guest: "storage format 'raw' does not support backing store".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/overlay.img'/>
      <backingStore type='file'>
        <format type='raw'/>
        <source file='/var/lib/libvirt/images/base.img'/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/overlay.qcow2'/>
    ```

    ## Fix safety
    No fix: the format must match the image on disk.

    ## Source
    libvirt src/qemu/qemu_block.c (`qemuBlockStorageSourceGetFormatProps`),
    src/conf/storage_source_conf.h (formats from VIR_STORAGE_FILE_BACKING on
    support a backing chain).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            if source.backing is None:
                continue
            image = source.format or ("none" if source.type == "volume" else "raw")
            if image in BACKING_FORMATS:
                continue
            yield ctx.finding(
                source.backing_element if source.backing_element is not None else disk.element,
                f"{_where(disk, source)}: storage format '{image}' does not support backing store",
            )
