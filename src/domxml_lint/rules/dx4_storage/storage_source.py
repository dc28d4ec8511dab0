"""DX478-DX485: storage sources QEMU cannot open: formats, virtual FAT, network sources.

From libvirt's ``qemuDomainValidateStorageSource`` (run on every image of a
disk's chain), the network source parser (``virDomainDiskSourceNetworkParse``,
``virStorageSourceNetCookiesValidate``) and the block layer's command-line
builders (``qemu_block.c``). Checks the schema makes in full are left to DX002,
except where a train rejection needs libvirt's own words (DX485): DX002 then
yields to the rule on the same element.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts.storage import Disk, StorageSource
from ...findings import Finding
from ...rule import ANY_DOMAIN, QEMU, RuleContext, rule

#: Protocols QEMU's curl driver serves, which take readahead and timeout.
CURL_PROTOCOLS = frozenset({"http", "https", "ftp", "ftps"})

#: Protocols whose hosts become a QEMU SocketAddress (tcp or unix, never rdma).
SOCKET_ADDRESS_PROTOCOLS = frozenset({"gluster", "nbd"})

#: Protocols whose command-line builder takes exactly one host, and how it names them
#: (qemuBlockStorageSourceGet*Props; the curl and TFTP ones through ...GetURI).
ONE_HOST_PROTOCOLS = {
    "iscsi": "iSCSI protocol",
    "nbd": "nbd protocol",
    "sheepdog": "sheepdog protocol",
    "ssh": "ssh protocol",
    "vxhs": "VxHS protocol",
    **{p: f"protocol '{p}'" for p in ("http", "https", "ftp", "ftps", "tftp")},
}

#: Network sources whose name is "pool/image" (virDomainDiskSourceNetworkParse).
POOL_IMAGE_PROTOCOLS = frozenset({"gluster", "rbd"})

_UNSIGNED = re.compile(r"^\s*\+?[0-9]+$")
UINT_MAX = 2**32 - 1


def _where(disk: Disk, source: StorageSource) -> str:
    return disk.label if source.depth == 0 else f"{disk.label} backing image {source.depth}"


def _format_location(source: StorageSource):
    """Where a finding about the format points: ``<driver type>`` or ``<format type>``."""
    return source.format_element if source.format_element is not None else source.owner


def _effective_format(source: StorageSource) -> str | None:
    """The format after libvirt's QEMU post-parse: unset is raw (unknown for a volume)."""
    if source.format:
        return source.format
    return None if source.type == "volume" else "raw"


@rule(
    code="DX478",
    name="storage-format-unsupported",
    severity="error",
    summary="An image format QEMU does not open directly: cow, dir or iso",
    fix="safe",
    triggers=("driver", "format"),
    domains=QEMU,
    libvirt=("qemuDomainValidateStorageSource",),
)
def storage_format_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a disk `<driver type>` or backing `<format type>` of `cow`, `dir`
    or `iso`.

    ## Why is this bad?
    QEMU has no `cow` driver any more, reads an ISO image as `raw`, and turns
    a directory into a disk only as virtual FAT (`<disk type='dir'>` with
    format `fat`). libvirt refuses the definition: "'cow' storage format is
    not supported", "'directory' storage format is not directly supported by
    QEMU, use 'dir' disk type instead", "storage format 'iso' is not directly
    supported by QEMU, use 'raw' instead".

    ## Example
    ```xml
    <driver name='qemu' type='iso'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw'/>
    ```

    ## Fix safety
    Safe for `iso`: the fix writes `raw`, the format QEMU reads an ISO image
    as, on a definition libvirt refuses as written. No fix for `cow` (the
    image needs converting) or `dir` (the disk's type must change too).

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`);
    libvirt tests disk-fmt-cow, disk-fmt-dir, disk-fmt-iso.
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            fmt = source.format
            where = _where(disk, source)
            element = _format_location(source)
            if fmt == "cow":
                yield ctx.finding(
                    element, f"{where}: 'cow' storage format is not supported", attribute="type"
                )
            elif fmt == "dir":
                yield ctx.finding(
                    element,
                    f"{where}: 'directory' storage format is not directly supported by QEMU, "
                    "use 'dir' disk type instead",
                    attribute="type",
                )
            elif fmt == "iso" and source.format_element is not None:
                yield ctx.finding(
                    element,
                    f"{where}: storage format 'iso' is not directly supported by QEMU, use "
                    "'raw' instead",
                    attribute="type",
                    fix=ctx.safe_fix(
                        "Set type='raw'",
                        ctx.edit.set_attribute(source.format_element, "type", "raw"),
                    ),
                )


@rule(
    code="DX479",
    name="vvfat-source-invalid",
    severity="error",
    summary="Virtual FAT done wrong: format fat off a directory, a directory in another "
    "format, or a writable one",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuDomainValidateStorageSource",),
)
def vvfat_source_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks virtual FAT disks (QEMU's vvfat, a host directory shown as a FAT
    file system): format `fat` needs `type='dir'` (or a storage volume); a
    `type='dir'` source with a format must use `fat`; and it must be
    read-only (`<readonly/>`, or a CD-ROM).

    ## Why is this bad?
    libvirt refuses the definition: "storage format 'fat' is supported only
    with 'dir' storage type", "storage type 'dir' requires use of storage
    format 'fat'", "virtual FAT storage can't be accessed in read-write
    mode". Writing through vvfat can corrupt the host directory.

    ## Example
    ```xml
    <disk type='dir' device='floppy'>
      <driver name='qemu' type='fat'/>
      <source dir='/srv/drivers'/>
      <target dev='fda' bus='fdc'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='dir' device='floppy'>
      <driver name='qemu' type='fat'/>
      <source dir='/srv/drivers'/>
      <target dev='fda' bus='fdc'/>
      <readonly/>
    </disk>
    ```

    ## Fix safety
    No fix: making the disk read-only changes what the guest can do with it.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            where = _where(disk, source)
            if source.format == "fat" and source.type not in ("dir", "volume"):
                yield ctx.finding(
                    _format_location(source),
                    f"{where}: storage format 'fat' is supported only with 'dir' storage type "
                    f"(this source is '{source.type}')",
                    attribute="type",
                )
            elif source.type == "dir" and source.format not in (None, "fat"):
                yield ctx.finding(
                    _format_location(source),
                    f"{where}: storage type 'dir' requires use of storage format 'fat', not "
                    f"'{source.format}'",
                    attribute="type",
                )
            elif source.type == "dir" and source.depth == 0 and not disk.readonly:
                yield ctx.finding(
                    disk.element,
                    f"{where}: virtual FAT storage can't be accessed in read-write mode (add "
                    "<readonly/>)",
                )


@rule(
    code="DX480",
    name="metadata-cache-needs-qcow2",
    severity="error",
    summary="A <metadata_cache><max_size> on an image that is not qcow2",
    triggers=("metadata_cache",),
    domains=QEMU,
    libvirt=("qemuDomainValidateStorageSource",),
)
def metadata_cache_needs_qcow2(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<metadata_cache><max_size>` (in a disk's `<driver>` or a backing
    image's `<format>`) on an image whose format is not qcow2 (an unset
    format is raw).

    ## Why is this bad?
    The metadata cache is qcow2's cache of its L2 and refcount tables; other
    formats have none. libvirt refuses the definition: "metadata cache max
    size control is supported only with qcow2 images".

    ## Example
    ```xml
    <driver name='qemu' type='raw'>
      <metadata_cache>
        <max_size unit='MiB'>16</max_size>
      </metadata_cache>
    </driver>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw'/>
    ```

    ## Fix safety
    No fix: whether the format or the cache setting is wrong is the author's
    call.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`).
    """
    for disk in ctx.facts.disks:
        if disk.storage.type == "vhostuser":
            continue  # DX449 says vhost-user has no metadata cache at all
        for source in disk.chain:
            size = source.metadata_cache_max_size
            fmt = _effective_format(source)
            if not size or fmt in (None, "qcow2"):
                continue
            yield ctx.finding(
                _format_location(source),
                f"{_where(disk, source)}: metadata cache max size control is supported only with "
                f"qcow2 images, not '{fmt}'",
            )


@rule(
    code="DX481",
    name="network-source-option-invalid",
    severity="error",
    summary="readahead or timeout off HTTP/FTP, an NFS host not on TCP or with a port, an "
    "RDMA host, tlsHostname with a QEMU older than 7.0",
    triggers=("source",),
    domains=QEMU,
    libvirt=(
        "qemuDomainValidateStorageSource",
        "qemuBlockStorageSourceBuildJSONSocketAddress",
    ),
)
def network_source_option_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the options of network sources that the schema lets through for
    protocols that cannot use them: `<readahead>` and `<timeout>` belong to
    HTTP(S) and FTP(S) (not SSH, Sheepdog or TFTP); an NFS `<host>` must use
    TCP and cannot name a port; an NBD or Gluster `<host>` cannot use
    `transport='rdma'`; an NBD source's `tlsHostname` needs QEMU 7.0 or later
    (from the host snapshot's QEMU capabilities, else `qemu-version`; silent
    when neither is known).

    ## Why is this bad?
    libvirt refuses the definition: "readahead is supported only with
    HTTP(S)/FTP(s) protocols", "timeout is supported only with HTTP(S)/FTP(s)
    protocols", "'nfs' host must use TCP protocol", "port cannot be specified
    in 'nfs' protocol host", "'tlsHostname' field is not supported by this
    QEMU", and fails to start an RDMA host: "transport protocol 'rdma' is not
    yet supported".

    ## Example
    ```xml
    <source protocol='nfs' name='/exports/vm/disk.img'>
      <host name='nfs.example.com' port='2049'/>
    </source>
    ```

    ## Use instead
    ```xml
    <source protocol='nfs' name='/exports/vm/disk.img'>
      <host name='nfs.example.com'/>
    </source>
    ```

    ## Fix safety
    No fix: the protocol, not the option, may be what is wrong.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`),
    src/qemu/qemu_block.c (`qemuBlockStorageSourceBuildJSONSocketAddress`).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            if not source.is_network or source.element is None:
                continue
            where = _where(disk, source)
            protocol = source.protocol
            for tag, value in (("readahead", source.readahead), ("timeout", source.timeout)):
                option = source.child(tag)
                if value and option is not None and protocol not in CURL_PROTOCOLS:
                    yield ctx.finding(
                        option,
                        f"{where}: {tag} is supported only with HTTP(S)/FTP(s) protocols, not "
                        f"'{protocol}'",
                    )
            if source.attr("tlsHostname") and (why := ctx.qemu_lacks("blockdev.nbd.tls-hostname")):
                yield ctx.finding(
                    source.element,
                    f"{where}: 'tlsHostname' field is not supported by this QEMU: {why}",
                    attribute="tlsHostname",
                )
            for host in source.hosts:
                if protocol == "nfs" and host.transport != "tcp":
                    yield ctx.finding(
                        host.element,
                        f"{where}: 'nfs' host must use TCP protocol, not '{host.transport}'",
                        attribute="transport",
                    )
                elif protocol == "nfs" and host.port is not None:
                    yield ctx.finding(
                        host.element,
                        f"{where}: port cannot be specified in 'nfs' protocol host",
                        attribute="port",
                    )
                elif protocol in SOCKET_ADDRESS_PROTOCOLS and host.transport == "rdma":
                    yield ctx.finding(
                        host.element,
                        f"{where}: transport protocol 'rdma' is not yet supported (for {protocol})",
                        attribute="transport",
                    )


@rule(
    code="DX482",
    name="network-protocol-unsupported",
    severity="error",
    summary="A network disk over TFTP or VxHS, which QEMU no longer has",
    triggers=("source",),
    domains=QEMU,
    libvirt=("qemuDomainValidateStorageSource", "qemuProcessStartValidateDisks"),
)
def network_protocol_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds network disk sources (and backing images) with `protocol='tftp'`
    or `protocol='vxhs'`.

    ## Why is this bad?
    QEMU's blockdev layer has no TFTP driver, and the VxHS driver was removed
    from QEMU. libvirt refuses TFTP when it validates the definition ("'tftp'
    protocol is not supported with this QEMU binary") and VxHS when it starts
    the guest ("VxHS protocol is not supported with this QEMU binary").

    ## Example
    ```xml
    <source protocol='tftp' name='images/boot.img'>
      <host name='tftp.example.com'/>
    </source>
    ```

    ## Use instead
    ```xml
    <source protocol='http' name='images/boot.img'>
      <host name='www.example.com'/>
    </source>
    ```

    ## Fix safety
    No fix: the image must be served another way.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateStorageSource`),
    src/qemu/qemu_process.c (`qemuProcessStartValidateDisks`).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            protocol = source.protocol
            if protocol == "tftp":
                message = "'tftp' protocol is not supported with this QEMU binary"
            elif protocol == "vxhs" and source.depth == 0:
                message = "VxHS protocol is not supported with this QEMU binary"
            else:
                continue
            yield ctx.finding(
                source.location, f"{_where(disk, source)}: {message}", attribute="protocol"
            )


@rule(
    code="DX483",
    name="network-source-name-invalid",
    severity="error",
    summary="A Gluster or RBD name without 'pool/image', or an iSCSI name whose LUN is not "
    "a number",
    triggers=("source",),
    domains=ANY_DOMAIN,
    libvirt=("virDomainDiskSourceNetworkParse", "qemuBlockStorageSourceGetISCSIProps"),
)
def network_source_name_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `name` of network sources: Gluster and RBD names are
    `volume/image` (`pool/image` for RBD), with something before the first
    `/`; an iSCSI name `target/lun` needs a number after the `/` (QEMU).

    ## Why is this bad?
    libvirt splits the name where it stores it: "can't split path 'image'
    into pool name and image name" (proven on libvirt 9.0). For iSCSI the QEMU
    driver fails to start the guest: "cannot parse target for lunStr
    'iqn.2013-07.com.example:storage'" (libvirt names the target, not the
    LUN).

    ## Example
    ```xml
    <source protocol='rbd' name='vm-disk-1'>
      <host name='mon1.example.com' port='6789'/>
    </source>
    ```

    ## Use instead
    ```xml
    <source protocol='rbd' name='rbd-pool/vm-disk-1'>
      <host name='mon1.example.com' port='6789'/>
    </source>
    ```

    ## Fix safety
    No fix: only the author knows the pool.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDiskSourceNetworkParse`),
    src/qemu/qemu_block.c (`qemuBlockStorageSourceGetISCSIProps`).
    """
    is_qemu = ctx.facts.driver == "qemu"
    for disk in ctx.facts.disks:
        for source in disk.chain:
            name = source.name
            if not name or source.element is None:
                continue
            where = _where(disk, source)
            protocol = source.protocol
            if protocol in POOL_IMAGE_PROTOCOLS and (name.startswith("/") or "/" not in name):
                yield ctx.finding(
                    source.element,
                    f"{where}: can't split path '{name}' into pool name and image name",
                    attribute="name",
                )
            elif protocol == "iscsi" and is_qemu and "/" in name:
                target, lun = name.split("/", 1)
                if not _UNSIGNED.match(lun) or int(lun) > UINT_MAX:
                    yield ctx.finding(
                        source.element,
                        f"{where}: cannot parse target for lunStr '{target}' (the LUN after "
                        f"'/' is '{lun}', not a number)",
                        attribute="name",
                    )


@rule(
    code="DX484",
    name="http-cookie-invalid",
    severity="error",
    summary="An HTTP cookie given twice, or a cookie value quoted on one side only",
    triggers=("cookie",),
    libvirt=("virStorageSourceNetCookiesValidate", "virStorageSourceNetCookieValidate"),
)
def http_cookie_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<cookies>` of HTTP(S) sources: each cookie name once, and a
    value that starts with a double quote must end with one (and the other
    way round).

    ## Why is this bad?
    libvirt refuses the definition: "duplicate cookie 'session'" (proven on
    libvirt 9.0), "value of cookie 'session' contains invalid characters".
    The schema allows a quote at either end on its own.

    ## Example
    ```xml
    <cookies>
      <cookie name='session'>"abc123</cookie>
    </cookies>
    ```

    ## Use instead
    ```xml
    <cookies>
      <cookie name='session'>"abc123"</cookie>
    </cookies>
    ```

    ## Fix safety
    No fix: which value the server expects is the author's knowledge.

    ## Source
    libvirt src/conf/storage_source_conf.c (`virStorageSourceNetCookiesValidate`,
    `virStorageSourceNetCookieValidate`).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            seen: set[str] = set()
            for cookie in source.cookies:
                value = cookie.value
                quoted_start, quoted_end = value.startswith('"'), value.endswith('"')
                if quoted_start != quoted_end:
                    yield ctx.finding(
                        cookie.element,
                        f"{_where(disk, source)}: value of cookie '{cookie.name}' contains "
                        "invalid characters (a double quote on one side only)",
                    )
                if cookie.name in seen:
                    yield ctx.finding(
                        cookie.element, f"{_where(disk, source)}: duplicate cookie '{cookie.name}'"
                    )
                seen.add(cookie.name)


@rule(
    code="DX485",
    name="network-source-host-count",
    severity="error",
    summary="A network disk source without a <host>, or with several, for a protocol that "
    "takes exactly one",
    triggers=("source",),
    domains=QEMU,
    libvirt=(
        "qemuBlockStorageSourceGetISCSIProps",
        "qemuBlockStorageSourceGetNBDProps",
        "qemuBlockStorageSourceGetSheepdogProps",
        "qemuBlockStorageSourceGetSshProps",
        "qemuBlockStorageSourceGetVxHSProps",
        "qemuBlockStorageSourceGetURI",
    ),
)
def network_source_host_count(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts the `<host>` elements of every network source of a disk's chain
    whose protocol QEMU reaches through exactly one server: iSCSI, NBD,
    Sheepdog, SSH, VxHS, HTTP(S), FTP(S) and TFTP. (RBD and Gluster take
    several; NFS is checked by the schema.)

    ## Why is this bad?
    libvirt cannot build QEMU's command line and the guest does not start:
    "iSCSI protocol accepts only one host", "protocol 'https' accepts only
    one host". The schema refuses these too, in its own words; this rule
    gives libvirt's, and the schema rule's finding on the same element gives
    way to it.

    ## Example
    ```xml
    <source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-pool/1'>
    </source>
    ```

    ## Use instead
    ```xml
    <source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-pool/1'>
      <host name='iscsi.example.com' port='3260'/>
    </source>
    ```

    ## Fix safety
    No fix: only the user knows the server.

    ## Source
    libvirt src/qemu/qemu_block.c (`qemuBlockStorageSourceGetISCSIProps`,
    `qemuBlockStorageSourceGetNBDProps`, `qemuBlockStorageSourceGetSheepdogProps`,
    `qemuBlockStorageSourceGetSshProps`, `qemuBlockStorageSourceGetVxHSProps`,
    `qemuBlockStorageSourceGetURI`); libvirt test
    disk-network-iscsi-zero-hosts-invalid; formatdomain "Hard drives, floppy
    disks, CDROMs" (`source` `host`).
    """
    for disk in ctx.facts.disks:
        for source in disk.chain:
            if not source.is_network or source.element is None:
                continue
            named = ONE_HOST_PROTOCOLS.get(source.protocol or "")
            hosts = source.hosts
            if named is None or len(hosts) == 1:
                continue
            # On the second host when there are several (where the schema points too).
            where = hosts[1].element if hosts else source.element
            yield ctx.finding(
                where,
                f"{_where(disk, source)}: {named} accepts only one host ({len(hosts)} given)",
            )
