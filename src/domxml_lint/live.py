"""Talking to libvirt: host snapshots, and linting defined domains live.

libvirt-python is used when it is installed, else ``virsh`` (``--readonly``
wherever reading is enough). libvirt's C library never prints to our stderr:
its error handler is replaced and C-level output during a call (libxml2
warnings, say) is swallowed. Every failure becomes one line saying what
failed and what to try.

Live lint reads the persistent (inactive) definition of each domain, lints it
with the same :class:`~domxml_lint.linter.Linter` and fix loop as files, and
with ``--fix`` redefines the domain only when a fix changed it. Redefining
changes the persistent definition only: a running guest keeps its live
configuration until it is next started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from .errors import InputError, UsageError
from .live_options import VIA_CHOICES

if TYPE_CHECKING:
    from .host import Host
    from .report import FileResult

INSTALL_HINT = (
    "install libvirt-python (`pip install 'domxml-lint[libvirt]'`; it builds against "
    "libvirt-dev and pkg-config) or virsh (`apt-get install libvirt-clients`)"
)
#: Seconds one virsh command may take (a remote URI may hang on the network).
VIRSH_TIMEOUT = 120
#: Virt types to ask domain capabilities for, best first (accelerated before TCG).
PREFERRED_VIRT_TYPES = ("kvm", "hvf", "qemu")


class LibvirtError(UsageError):
    """A connection that cannot be opened or used; the CLI prints it as one line, exit 2."""


class CallFailed(Exception):
    """One libvirt call failed; ``kind`` says how the caller should word it.

    kinds: ``connect``, ``permission``, ``no-domain``, ``unsupported``, ``failed``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show_uri(uri: str | None) -> str:
    return uri if uri else "the default libvirt connection"


def connection_error(
    uri: str | None, failure: CallFailed, *, writing: bool = False
) -> LibvirtError:
    """The one-line error for a connection that could not be opened."""
    where = _show_uri(uri)
    if failure.kind == "permission":
        hint = (
            "run as a user allowed to use this connection, such as root or a member of the "
            "libvirt group, or give the credentials the URI needs"
        )
        if writing:
            hint += "; --fix needs a read-write connection, without it domxml-lint only reads"
        return LibvirtError(f"permission denied on {where}: {failure.message} ({hint})")
    probe = f"virsh -c {uri} uri" if uri else "virsh uri"
    return LibvirtError(
        f"cannot connect to {where}: {failure.message} (check the URI and that its libvirt "
        f"daemon is running; `{probe}` shows the same error)"
    )


# -- silencing the C library ---------------------------------------------------------------


@contextlib.contextmanager
def quiet_c_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while C code runs (Python's sys.stderr is kept)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# -- connections -----------------------------------------------------------------------------


class Connection(Protocol):
    """One libvirt connection: :class:`PythonConnection` or :class:`VirshConnection`.

    Every call raises :class:`CallFailed` when libvirt refuses it.
    """

    via: str
    uri: str
    readonly: bool

    def capabilities(self) -> str: ...

    def domain_capabilities(self, virt_type: str, arch: str, machine: str | None) -> str: ...

    def pci_devices(self) -> list[str]: ...

    def persistent_domains(self) -> list[str]: ...

    def domain_state(self, name: str) -> tuple[bool, bool]:
        """``(persistent, active)`` for the domain called ``name`` (or with that UUID)."""
        ...

    def inactive_xml(self, name: str, *, secure: bool = False) -> str: ...

    def define(self, xml: str) -> None: ...

    def library_version(self) -> str | None: ...

    def hypervisor_version(self) -> tuple[str | None, str | None]:
        """``(type, version)`` of the driver's hypervisor, as ``virsh version`` shows them."""
        ...

    def hostname(self) -> str | None: ...

    def close(self) -> None: ...


def open_connection(uri: str | None, *, readonly: bool = True, via: str = "auto") -> Connection:
    """Open ``uri`` (None: libvirt's default) or raise a one-line :class:`LibvirtError`."""
    if via not in VIA_CHOICES:
        raise UsageError(f"--via must be one of {', '.join(VIA_CHOICES)}, not {via!r}")
    module = None
    if via in ("auto", "libvirt-python"):
        try:
            import libvirt as module  # type: ignore[no-redef]
        except ImportError:
            if via == "libvirt-python":
                raise LibvirtError(f"libvirt-python is not installed ({INSTALL_HINT})") from None
    try:
        if module is not None:
            return PythonConnection(module, uri, readonly=readonly)
        import shutil

        virsh = shutil.which("virsh")
        if virsh is None:
            if via == "virsh":
                raise LibvirtError(f"virsh is not installed ({INSTALL_HINT})")
            raise LibvirtError(
                f"talking to libvirt needs libvirt-python or virsh, and neither is installed: "
                f"{INSTALL_HINT}"
            )
        return VirshConnection(virsh, uri, readonly=readonly)
    except CallFailed as failure:
        raise connection_error(uri, failure, writing=not readonly) from None


# libvirt-python -----------------------------------------------------------------------------

_PERMISSION_CODES = (
    "VIR_ERR_AUTH_FAILED",
    "VIR_ERR_AUTH_CANCELLED",
    "VIR_ERR_AUTH_UNAVAILABLE",
    "VIR_ERR_OPERATION_DENIED",
    "VIR_ERR_ACCESS_DENIED",
)
_PERMISSION_DOMAINS = ("VIR_FROM_AUTH", "VIR_FROM_POLKIT", "VIR_FROM_ACCESS")


def _no_credentials(credentials: list, _data: object) -> int:
    # Never prompt: a linter runs unattended; a URI needing a password fails cleanly.
    return -1


class PythonConnection:
    via = "libvirt-python"

    def __init__(self, libvirt: Any, uri: str | None, *, readonly: bool) -> None:
        self._libvirt = libvirt
        self.requested_uri = uri
        self.readonly = readonly
        self._writable: PythonConnection | None = None
        libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
        if uri is not None and "///embed" in uri:
            # an embedded driver (qemu:///embed?root=DIR) runs in this process: it refuses to
            # open without an event loop implementation registered first
            self._call(libvirt.virEventRegisterDefaultImpl)
        credential_types = [
            getattr(libvirt, name)
            for name in (
                "VIR_CRED_AUTHNAME",
                "VIR_CRED_USERNAME",
                "VIR_CRED_PASSPHRASE",
                "VIR_CRED_NOECHOPROMPT",
                "VIR_CRED_ECHOPROMPT",
            )
            if hasattr(libvirt, name)
        ]
        flags = libvirt.VIR_CONNECT_RO if readonly else 0
        self._conn = self._call(
            libvirt.openAuth, uri, [credential_types, _no_credentials, None], flags
        )
        self.uri = self._call(self._conn.getURI)

    def _classify(self, exc: Any) -> CallFailed:
        lv = self._libvirt
        code, domain = exc.get_error_code(), exc.get_error_domain()
        message = _one_line(exc.get_error_message() or str(exc))
        if (
            code in {getattr(lv, n, None) for n in _PERMISSION_CODES} - {None}
            or domain in {getattr(lv, n, None) for n in _PERMISSION_DOMAINS} - {None}
            or "Permission denied" in message
        ):
            return CallFailed("permission", message)
        if code == lv.VIR_ERR_NO_DOMAIN:
            return CallFailed("no-domain", message)
        if code == lv.VIR_ERR_NO_SUPPORT:
            return CallFailed("unsupported", message)
        if code == lv.VIR_ERR_NO_CONNECT or domain in (lv.VIR_FROM_RPC, lv.VIR_FROM_REMOTE):
            return CallFailed("connect", message)
        return CallFailed("failed", message)

    def _call(self, function: Any, *args: Any) -> Any:
        with quiet_c_stderr():
            try:
                return function(*args)
            except self._libvirt.libvirtError as exc:
                raise self._classify(exc) from None

    def capabilities(self) -> str:
        return self._call(self._conn.getCapabilities)

    def domain_capabilities(self, virt_type: str, arch: str, machine: str | None) -> str:
        if self.readonly:
            # libvirt refuses domain capabilities on read-only connections.
            if self._writable is None:
                try:
                    self._writable = PythonConnection(
                        self._libvirt, self.requested_uri, readonly=False
                    )
                except CallFailed as failure:
                    raise CallFailed(
                        failure.kind,
                        f"they need a read-write connection, which was refused: {failure.message}",
                    ) from None
            return self._writable.domain_capabilities(virt_type, arch, machine)
        return self._call(self._conn.getDomainCapabilities, None, arch, machine, virt_type, 0)

    def pci_devices(self) -> list[str]:
        flag = self._libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
        devices = self._call(self._conn.listAllDevices, flag)
        return [self._call(d.XMLDesc, 0) for d in sorted(devices, key=lambda d: d.name())]

    def persistent_domains(self) -> list[str]:
        flag = self._libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT
        return sorted(d.name() for d in self._call(self._conn.listAllDomains, flag))

    def _lookup(self, name: str) -> Any:
        try:
            return self._call(self._conn.lookupByName, name)
        except CallFailed as failure:
            if failure.kind == "no-domain" and _looks_like_uuid(name):
                return self._call(self._conn.lookupByUUIDString, name)
            raise

    def domain_state(self, name: str) -> tuple[bool, bool]:
        domain = self._lookup(name)
        return bool(self._call(domain.isPersistent)), bool(self._call(domain.isActive))

    def inactive_xml(self, name: str, *, secure: bool = False) -> str:
        lv = self._libvirt
        flags = lv.VIR_DOMAIN_XML_INACTIVE | (lv.VIR_DOMAIN_XML_SECURE if secure else 0)
        return self._call(self._lookup(name).XMLDesc, flags)

    def define(self, xml: str) -> None:
        self._call(self._conn.defineXMLFlags, xml, self._libvirt.VIR_DOMAIN_DEFINE_VALIDATE)

    def library_version(self) -> str | None:
        try:
            number = self._call(self._conn.getLibVersion)
        except CallFailed:
            return None
        return _dotted(number)

    def hypervisor_version(self) -> tuple[str | None, str | None]:
        try:
            kind = self._call(self._conn.getType)
        except CallFailed:
            return None, None
        try:
            number = self._call(self._conn.getVersion)
        except CallFailed:
            return kind, None
        return kind, _dotted(number) if number else None

    def hostname(self) -> str | None:
        try:
            return self._call(self._conn.getHostname)
        except CallFailed:
            return None

    def close(self) -> None:
        for connection in (self._writable, self):
            if connection is not None and connection._conn is not None:
                with contextlib.suppress(CallFailed):
                    connection._call(connection._conn.close)
                connection._conn = None


def _dotted(number: int) -> str:
    """libvirt's version number (major * 1,000,000 + minor * 1,000 + micro) as text."""
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _looks_like_uuid(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", text) is not None


# virsh ---------------------------------------------------------------------------------------

_VIRSH_ERROR = re.compile(r"^error: (.*)$", re.M)


class VirshConnection:
    via = "virsh"

    def __init__(self, virsh: str, uri: str | None, *, readonly: bool) -> None:
        self._virsh = virsh
        self.requested_uri = uri
        self.readonly = readonly
        self._version_text: str | None = None
        self.uri = self._run("uri").strip()

    def _run(self, *args: str, write: bool = False) -> str:
        import subprocess  # only virsh needs it; keep the CLI's start-up light

        command = [self._virsh, "--quiet"]
        if self.requested_uri:
            command += ["--connect", self.requested_uri]
        if not write:
            command.append("--readonly")
        command += args
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=VIRSH_TIMEOUT,
                env={**os.environ, "LC_ALL": "C"},
            )
        except subprocess.TimeoutExpired:
            raise CallFailed(
                "connect", f"`virsh {args[0]}` did not answer within {VIRSH_TIMEOUT} s"
            ) from None
        except OSError as exc:
            raise CallFailed("failed", f"cannot run virsh: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise self._classify(done.stderr.decode("utf-8", "replace"))
        return done.stdout.decode("utf-8", "replace")

    @staticmethod
    def _classify(stderr: str) -> CallFailed:
        errors = [_one_line(e) for e in _VIRSH_ERROR.findall(stderr)] or [_one_line(stderr)]
        message = ": ".join(dict.fromkeys(e for e in errors if e)) or "virsh failed"
        lowered = message.lower()
        if any(
            w in lowered
            for w in (
                "authentication",
                "permission denied",
                "access denied",
                "read only access prevents",
                "operation forbidden",
            )
        ):
            return CallFailed("permission", message)
        if "domain not found" in lowered or "failed to get domain" in lowered:
            return CallFailed("no-domain", message)
        if "not supported" in lowered or "unsupported" in lowered:
            return CallFailed("unsupported", message)
        if "failed to connect" in lowered:
            return CallFailed("connect", message)
        return CallFailed("failed", message)

    def capabilities(self) -> str:
        return self._run("capabilities")

    def domain_capabilities(self, virt_type: str, arch: str, machine: str | None) -> str:
        args = ["domcapabilities", "--virttype", virt_type, "--arch", arch]
        if machine:
            args += ["--machine", machine]
        # libvirt refuses domain capabilities on read-only connections.
        return self._run(*args, write=True)

    def pci_devices(self) -> list[str]:
        names = self._run("nodedev-list", "--cap", "pci").split()
        return [self._run("nodedev-dumpxml", name) for name in sorted(names)]

    def persistent_domains(self) -> list[str]:
        return sorted(self._run("list", "--all", "--persistent", "--name").split())

    def domain_state(self, name: str) -> tuple[bool, bool]:
        info = self._run("dominfo", name)
        persistent = re.search(r"^Persistent:\s*(\S+)", info, re.M)
        state = re.search(r"^State:\s*(.+)$", info, re.M)
        active = state is not None and state.group(1).strip() not in ("shut off", "crashed")
        return (persistent is not None and persistent.group(1) == "yes"), active

    def inactive_xml(self, name: str, *, secure: bool = False) -> str:
        if secure:
            return self._run("dumpxml", "--inactive", "--security-info", name, write=True)
        return self._run("dumpxml", "--inactive", name)

    def define(self, xml: str) -> None:
        import tempfile

        handle, path = tempfile.mkstemp(prefix="domxml-lint-", suffix=".xml")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(xml)
            self._run("define", "--validate", path, write=True)
        finally:
            os.unlink(path)

    def _version(self) -> str:
        # One `virsh version` answers both version questions (over ssh, a call is costly).
        if self._version_text is None:
            self._version_text = self._run("version")
        return self._version_text

    def library_version(self) -> str | None:
        try:
            found = re.search(r"Using library: libvirt (\S+)", self._version())
        except CallFailed:
            return None
        return found.group(1) if found else None

    def hypervisor_version(self) -> tuple[str | None, str | None]:
        try:
            found = re.search(r"^Running hypervisor: (\S+) (\S+)", self._version(), re.M)
        except CallFailed:
            return None, None
        return (found.group(1), found.group(2)) if found else (None, None)

    def hostname(self) -> str | None:
        try:
            return self._run("hostname").strip() or None
        except CallFailed:
            return None

    def close(self) -> None:
        """Nothing to close: every virsh call is a process of its own."""


# -- capturing a host ------------------------------------------------------------------------


@attrs.frozen
class Capture:
    """The host documents read from one connection, and what could not be read, and why."""

    uri: str
    libvirt_version: str | None
    documents: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    hypervisor: str | None = None
    hypervisor_version: str | None = None
    hostname: str | None = None

    def host(self) -> Host:
        from .host import host_from_documents
        from .host.model import LibvirtInfo

        host = host_from_documents(*self.documents)
        return attrs.evolve(host, libvirt=LibvirtInfo(**self._libvirt_fields()))

    def _libvirt_fields(self) -> dict[str, str | None]:
        return {
            "uri": self.uri,
            "hostname": self.hostname,
            "version": self.libvirt_version,
            "hypervisor": self.hypervisor,
            "hypervisor_version": self.hypervisor_version,
        }

    def bundle(
        self,
        *,
        created: str | None = None,
        system: str | None = None,
        qemu_caps: Sequence[str] = (),
    ) -> bytes:
        """The snapshot bundle; ``system`` is a ``<system>`` section to put after libvirt's
        documents, ``qemu_caps`` the ``<qemuCaps>`` documents of libvirt's cache, last."""
        from . import __version__
        from .host import build_bundle

        documents = [xml for _name, xml in self.documents]
        if system is not None:
            documents.append(system)
        return build_bundle(
            [*documents, *qemu_caps],
            uri=self.uri,
            hostname=self.hostname,
            libvirt_version=self.libvirt_version,
            hypervisor=self.hypervisor,
            hypervisor_version=self.hypervisor_version,
            created=created,
            generator=f"domxml-lint {__version__}",
        )


def capture_host(connection: Connection, *, machines: Sequence[str] = ()) -> Capture:
    """Capabilities, domain capabilities for the native arch and virt type, and PCI devices.

    Domain capabilities and node devices are skipped (with a note) where the
    driver does not provide them, as the test driver does not; a refused or
    broken connection is an error.
    """
    from .document import Document
    from .host.parse import parse_capabilities

    uri = connection.uri
    notes: list[str] = []
    try:
        caps_xml = connection.capabilities()
    except CallFailed as failure:
        raise LibvirtError(f"cannot read the capabilities of {uri}: {failure.message}") from None
    documents = [(f"{uri} capabilities", caps_xml)]
    caps = parse_capabilities(Document.parse(caps_xml.encode("utf-8"), uri).root, uri)
    virt_type = _native_virt_type(caps)
    if caps.arch is None or virt_type is None:
        notes.append(
            f"domain capabilities skipped: the capabilities list no guest for the host arch "
            f"{caps.arch or '(unknown)'}"
        )
    else:
        for machine in [None, *machines]:
            label = f"{virt_type}/{caps.arch}" + (f"/{machine}" if machine else "")
            try:
                xml = connection.domain_capabilities(virt_type, caps.arch, machine)
            except CallFailed as failure:
                notes.append(f"domain capabilities for {label} skipped: {failure.message}")
                if failure.kind in ("unsupported", "permission"):
                    break
                continue
            documents.append((f"{uri} domcapabilities {label}", xml))
    try:
        devices = connection.pci_devices()
    except CallFailed as failure:
        if failure.kind != "unsupported":
            raise LibvirtError(f"cannot list the PCI devices of {uri}: {failure.message}") from None
        notes.append(f"PCI node devices skipped: {failure.message}")
        devices = []
    for xml in devices:
        documents.append((f"{uri} nodedev", xml))
    hypervisor, hypervisor_version = connection.hypervisor_version()
    return Capture(
        uri,
        connection.library_version(),
        tuple(documents),
        tuple(notes),
        hypervisor=hypervisor,
        hypervisor_version=hypervisor_version,
        hostname=connection.hostname(),
    )


def _native_virt_type(caps: Any) -> str | None:
    types: set[str] = set()
    for guest in caps.guests_for(caps.arch):
        types |= guest.domain_types
    for preferred in PREFERRED_VIRT_TYPES:
        if preferred in types:
            return preferred
    return min(types) if types else None


# -- live lint -------------------------------------------------------------------------------


class LiveSession:
    """One connection for a run: the host it offers, and its domains to lint."""

    def __init__(self, connection: Connection, names: list[str] | None) -> None:
        self.connection = connection
        self.names = names  # None: lint no domains, only provide the host

    @classmethod
    def open(cls, args: argparse.Namespace) -> LiveSession:
        wants_domains = bool(args.domain or args.all_domains)
        if not wants_domains and not args.paths:
            raise UsageError(
                "--connect needs --domain NAME, --all-domains, or paths to lint against its host"
            )
        writing = wants_domains and args.fix
        connection = open_connection(args.connect, readonly=not writing, via=args.via)
        names: list[str] | None = None
        if wants_domains:
            names = list(dict.fromkeys(args.domain))
            if args.all_domains:
                try:
                    every = connection.persistent_domains()
                except CallFailed as failure:
                    raise LibvirtError(
                        f"cannot list the domains of {connection.uri}: {failure.message}"
                    ) from None
                if not every and not names:
                    print(
                        f"domxml-lint: warning: {connection.uri} has no persistent domains",
                        file=sys.stderr,
                    )
                names += [n for n in every if n not in names]
        return cls(connection, names)

    def host(self) -> Host:
        try:
            return capture_host(self.connection).host()
        except InputError as exc:
            raise LibvirtError(f"cannot read the host of {self.connection.uri}: {exc}") from None

    @property
    def uri(self) -> str:
        return self.connection.uri

    def lint(
        self, process_document: Callable[[str, bytes], FileResult], *, fixing: bool
    ) -> list[FileResult]:
        """Lint each domain's persistent definition with ``process_document``.

        ``process_document(shown, data)`` is the same per-document path files and
        stdin take (runner.process): it never writes, and leaves fixed bytes in
        ``result.output``; with ``fixing``, those are redefined here.
        """
        results = [self._process(name, process_document, fixing) for name in self.names or ()]
        self.connection.close()
        return results

    def path_of(self, name: str) -> str:
        return f"{self.connection.uri}/domain/{name}"

    def _process(
        self, name: str, process_document: Callable[[str, bytes], FileResult], fixing: bool
    ) -> FileResult:
        from .report import FileResult

        path = self.path_of(name)
        try:
            persistent, active = self._state(name, path)
            if not persistent:
                raise InputError(
                    path,
                    "is a transient domain: it has no persistent definition to lint",
                    hint=f"save it with `virsh dumpxml {name} > {name}.xml` and lint the file",
                )
            # The secure XML keeps passwords that a redefinition must not drop.
            xml = self._xml(name, path, secure=fixing)
        except InputError as exc:
            return FileResult(path, error=exc, kind="domain")
        result = process_document(path, xml.encode("utf-8"))
        if fixing and result.output is not None and result.error is None:
            try:
                fixed = result.output.decode("utf-8")
                self._redefine(name, path, xml, fixed, len(result.applied), active)
            except InputError as exc:
                result.error = exc
        return result

    def _domain_error(self, name: str, path: str, failure: CallFailed) -> InputError:
        uri = self.connection.uri
        if failure.kind == "no-domain":
            return InputError(
                path,
                "no such domain",
                hint=f"list the defined domains with `virsh -c {uri} list --all`",
            )
        if failure.kind == "permission":
            return InputError(
                path,
                f"permission denied: {failure.message}",
                hint="run as a user allowed to manage this connection's domains",
            )
        return InputError(
            path, failure.message, hint=f"check the domain with `virsh -c {uri} dominfo {name}`"
        )

    def _state(self, name: str, path: str) -> tuple[bool, bool]:
        try:
            return self.connection.domain_state(name)
        except CallFailed as failure:
            raise self._domain_error(name, path, failure) from None

    def _xml(self, name: str, path: str, *, secure: bool) -> str:
        try:
            return self.connection.inactive_xml(name, secure=secure)
        except CallFailed as failure:
            raise self._domain_error(name, path, failure) from None

    def _redefine(
        self, name: str, path: str, linted: str, fixed: str, fixes: int, active: bool
    ) -> None:
        if self._xml(name, path, secure=True) != linted:
            raise InputError(
                path,
                "the definition changed while it was being fixed; nothing was redefined",
                hint="run domxml-lint again",
            )
        try:
            self.connection.define(fixed)
        except CallFailed as failure:
            raise InputError(
                path,
                f"libvirt refused the fixed definition: {failure.message}; the domain is unchanged",
                hint="run with --diff to see the fix, and report it if libvirt should accept it",
            ) from None
        later = " (the running guest uses it from its next start)" if active else ""
        print(
            f"domxml-lint: redefined {path} with {fixes} fix{'es' if fixes != 1 else ''}{later}",
            file=sys.stderr,
        )
