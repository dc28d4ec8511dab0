"""Reading the system facts of the machine this runs on (:class:`HostSystem`).

Read-only, and without root where the kernel allows: every file is opened for
reading only, and the only commands run are ``systemctl is-enabled``,
``systemctl is-active`` and ``tuned-adm active``, each with a timeout. What
cannot be read stays None and, where that is worth knowing, a note says why;
nothing here fails the snapshot.

``root`` reads /proc, /sys, /etc, /dev and /run below another directory (a
test's fake tree); commands then run only when asked for, since they would
describe the real machine.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import stat
import subprocess
from collections.abc import Callable, Sequence

import attrs

from ..cpuset import CpusetError, parse_cpuset
from .system import (
    DEVICE_NODES,
    MODULES,
    SERVICE_PROGRAMS,
    SERVICES,
    BlockDevice,
    Choice,
    DeviceNode,
    HostSystem,
    HugePagePool,
    HugePages,
    HugetlbfsMount,
    KernelModule,
    Ksm,
    Memory,
    Service,
    TransparentHugePages,
    Tuned,
)

#: Seconds a command may take; one that does not answer is not asked again.
COMMAND_TIMEOUT = 5.0
#: Where programs are looked for (below ``root``), as a login shell's PATH has them.
PROGRAM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

_HUGEPAGES_DIR = re.compile(r"hugepages-(\d+)kB$")
_NODE_DIR = re.compile(r"node(\d+)$")
_MEMINFO_LINE = re.compile(r"^(\w+):\s+(\d+)(?:\s+kB)?\s*$")
_PAGESIZE = re.compile(r"^(\d+)([KkMmGg]?)$")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@attrs.frozen
class Collected:
    """The facts read, and notes on what could not be read and why."""

    system: HostSystem
    notes: tuple[str, ...]


def collect_system(
    root: str = "/",
    *,
    commands: bool | None = None,
    program_dirs: Sequence[str] = PROGRAM_DIRS,
    timeout: float = COMMAND_TIMEOUT,
    now: Callable[[], datetime.datetime] | None = None,
) -> Collected:
    """Read this machine's system facts (or those of the tree below ``root``).

    ``commands`` runs systemctl and tuned-adm (default: only when ``root`` is
    ``/``); ``program_dirs`` are searched below ``root`` for them and for the
    services' programs.
    """
    reader = _Reader(root, root == "/" if commands is None else commands, program_dirs, timeout)
    moment = (now or (lambda: datetime.datetime.now(datetime.UTC)))()
    meminfo = reader.meminfo()
    default_hugepage_kib = meminfo.get("Hugepagesize")
    hostname = reader.line("/proc/sys/kernel/hostname")
    release = reader.line("/proc/sys/kernel/osrelease")
    if root == "/" and hasattr(os, "uname"):  # not Linux: no /proc, but uname works
        hostname = hostname or os.uname().nodename
        release = release or os.uname().release
    system = HostSystem(
        hostname=hostname,
        kernel_release=release,
        collected=moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cmdline=reader.line("/proc/cmdline"),
        memory=_memory(meminfo),
        numa_nodes=reader.nodes(),
        numa_balancing=reader.integer("/proc/sys/kernel/numa_balancing"),
        transparent_hugepages=reader.transparent_hugepages(),
        ksm=reader.ksm(),
        hugepages=reader.hugepages(default_hugepage_kib),
        hugetlbfs_mounts=reader.hugetlbfs_mounts(default_hugepage_kib),
        tuned=reader.tuned(),
        systemd=reader.systemd_running(),
        services=reader.services(),
        modules=reader.modules(),
        devices=reader.devices(),
        block_devices=reader.block_devices(),
        arp_filter=reader.arp_filter(),
    )
    return Collected(system, tuple(reader.notes))


def _memory(meminfo: dict[str, int]) -> Memory | None:
    if not meminfo:
        return None
    return Memory(
        total_kib=meminfo.get("MemTotal"),
        available_kib=meminfo.get("MemAvailable"),
        swap_total_kib=meminfo.get("SwapTotal"),
    )


def parse_pagesize_kib(text: str) -> int | None:
    """hugetlbfs's ``pagesize=`` option (``2M``, ``1G``, ``64K``, or bytes) in KiB."""
    match = _PAGESIZE.match(text.strip())
    if match is None:
        return None
    number, suffix = int(match.group(1)), match.group(2).upper()
    size = number * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[suffix]
    return size // 1024 if size % 1024 == 0 and size else None


def _unescape_mount_field(text: str) -> str:
    """/proc/mounts writes a space in a path as ``\\040`` (and tab, newline, backslash alike)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


class _Reader:
    def __init__(
        self, root: str, commands: bool, program_dirs: Sequence[str], timeout: float
    ) -> None:
        self.root = root
        self.commands = commands
        self.program_dirs = tuple(program_dirs)
        self.timeout = timeout
        self.notes: list[str] = []
        self._silent: set[str] = set()  # programs that timed out: not asked again

    # -- files ---------------------------------------------------------------------------

    def path(self, absolute: str) -> str:
        if self.root == "/":
            return absolute
        return os.path.join(self.root, absolute.lstrip("/"))

    def read(self, absolute: str, *, quiet: bool = False) -> str | None:
        """A file's text, or None when it is absent or unreadable (with a note unless quiet)."""
        try:
            with open(self.path(absolute), "rb") as handle:
                data = handle.read(1 << 20)  # /proc/mounts of a busy host fits; nothing larger
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            if not quiet:
                self.notes.append(f"cannot read {absolute}: {exc.strerror or exc}")
            return None
        return data.decode("utf-8", "replace")

    def line(self, absolute: str) -> str | None:
        text = self.read(absolute)
        return None if text is None else text.strip("\n").strip()

    def integer(self, absolute: str, *, quiet: bool = False) -> int | None:
        text = self.read(absolute, quiet=quiet)
        if text is None:
            return None
        try:
            return int(text.strip())
        except ValueError:
            return None

    def listdir(self, absolute: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(absolute)))
        except OSError:
            return []

    # -- memory, NUMA, THP, KSM ----------------------------------------------------------

    def meminfo(self) -> dict[str, int]:
        values = {}
        for line in (self.read("/proc/meminfo") or "").splitlines():
            match = _MEMINFO_LINE.match(line)
            if match:
                values[match.group(1)] = int(match.group(2))
        return values

    def nodes(self) -> frozenset[int] | None:
        text = self.line("/sys/devices/system/node/online")
        if not text:
            return None
        try:
            return parse_cpuset(text, allow_empty=True)
        except CpusetError:
            return None

    def transparent_hugepages(self) -> TransparentHugePages | None:
        enabled = self.line("/sys/kernel/mm/transparent_hugepage/enabled")
        defrag = self.line("/sys/kernel/mm/transparent_hugepage/defrag")
        if enabled is None and defrag is None:
            return None
        return TransparentHugePages(
            enabled=Choice.parse(enabled) if enabled is not None else None,
            defrag=Choice.parse(defrag) if defrag is not None else None,
        )

    def ksm(self) -> Ksm | None:
        base = "/sys/kernel/mm/ksm/"
        if not os.path.isdir(self.path(base)):
            return None
        return Ksm(
            run=self.integer(base + "run"),
            merge_across_nodes=self.integer(base + "merge_across_nodes"),
            pages_to_scan=self.integer(base + "pages_to_scan"),
            sleep_millisecs=self.integer(base + "sleep_millisecs"),
            pages_shared=self.integer(base + "pages_shared", quiet=True),
            pages_sharing=self.integer(base + "pages_sharing", quiet=True),
        )

    # -- huge pages ----------------------------------------------------------------------

    def hugepages(self, default_size_kib: int | None) -> HugePages | None:
        pools = []
        node_base = "/sys/devices/system/node"
        nodes = [
            (int(m.group(1)), name)
            for name in self.listdir(node_base)
            if (m := _NODE_DIR.match(name))
        ]
        if nodes:
            for node, name in sorted(nodes):
                pools += self._pools(f"{node_base}/{name}/hugepages", node)
        else:  # a kernel without NUMA: the host-wide pools
            pools = self._pools("/sys/kernel/mm/hugepages", None)
        if not pools and default_size_kib is None:
            return None
        return HugePages(default_size_kib=default_size_kib, pools=pools)

    def _pools(self, directory: str, node: int | None) -> list[HugePagePool]:
        found = []
        for name in self.listdir(directory):
            match = _HUGEPAGES_DIR.match(name)
            if match is None:
                continue
            where = f"{directory}/{name}/"
            found.append(
                HugePagePool(
                    node=node,
                    size_kib=int(match.group(1)),
                    total=self.integer(where + "nr_hugepages"),
                    free=self.integer(where + "free_hugepages"),
                    surplus=self.integer(where + "surplus_hugepages"),
                )
            )
        return sorted(found, key=lambda pool: pool.size_kib)

    def hugetlbfs_mounts(self, default_size_kib: int | None) -> tuple[HugetlbfsMount, ...] | None:
        # libvirt finds its hugetlbfs mounts in /proc/mounts too (virFileFindHugeTLBFS).
        text = self.read("/proc/mounts")
        if text is None:
            return None
        mounts = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 4 or fields[2] != "hugetlbfs":
                continue
            options = fields[3]
            given = [o[len("pagesize=") :] for o in options.split(",") if o.startswith("pagesize=")]
            mounts.append(
                HugetlbfsMount(
                    path=_unescape_mount_field(fields[1]),
                    # An option we cannot read leaves the size unknown, not the default.
                    page_size_kib=parse_pagesize_kib(given[-1]) if given else default_size_kib,
                    explicit=bool(given),
                    options=options,
                )
            )
        return tuple(mounts)

    # -- tuned and services --------------------------------------------------------------

    def tuned(self) -> Tuned | None:
        mode = self.line("/etc/tuned/profile_mode") or None
        profile = self.read("/etc/tuned/active_profile")
        if profile is not None:
            return Tuned(" ".join(profile.split()), mode, "/etc/tuned/active_profile")
        if not self.commands:
            return None
        done = self.run("tuned-adm", "active")
        if done is None:
            return None
        output = done[1]
        match = re.search(r"^Current active profile:\s*(.*)$", output, re.M)
        if match:
            return Tuned(match.group(1).strip(), mode, "tuned-adm active")
        if re.search(r"^No current active profile", output, re.M):
            return Tuned("", mode, "tuned-adm active")
        return None

    def systemd_running(self) -> bool | None:
        if not os.path.isdir(self.path("/run")):
            return None  # a tree without /run cannot tell
        # sd_booted(): systemd is PID 1 exactly when this directory exists.
        return os.path.isdir(self.path("/run/systemd/system"))

    def services(self) -> dict[str, Service]:
        running = self.systemd_running()
        # Without any program directory (a bare tree), "not installed" would be a guess.
        searchable = any(os.path.isdir(self.path(d)) for d in self.program_dirs)
        if running is None:
            self.notes.append(f"no /run below {self.root}: service states unknown")
        elif not running:
            self.notes.append("systemd is not running here (a container?): service states unknown")
        elif not self.commands:
            self.notes.append("commands not run: service states unknown")
        services = {}
        for name in SERVICES:
            enabled = active = None
            if running and self.commands:
                enabled = self._systemctl("is-enabled", name)
                active = self._systemctl("is-active", name)
            program = SERVICE_PROGRAMS.get(name)
            installed = None
            if program is not None and searchable:
                installed = self.find_program(program) is not None
            services[name] = Service(name, enabled, active, installed)
        return services

    def _systemctl(self, verb: str, name: str) -> str | None:
        done = self.run("systemctl", verb, f"{name}.service")
        if done is None:
            return None
        status, output, errors = done
        word = output.strip().splitlines()[0].strip() if output.strip() else ""
        if word and " " not in word:
            return word
        # systemd before 254 says nothing on stdout for a unit it does not know.
        if verb == "is-enabled" and ("No such file" in errors or "not found" in errors):
            return "not-found"
        return None

    def find_program(self, name: str) -> str | None:
        for directory in self.program_dirs:
            candidate = os.path.join(directory, name)
            full = self.path(candidate)
            if os.path.isfile(full) and os.access(full, os.X_OK):
                return candidate
        return None

    def run(self, program: str, *args: str) -> tuple[int, str, str] | None:
        """Run a program (found in ``program_dirs``) with a timeout; None if it did not answer."""
        if program in self._silent:
            return None
        found = self.find_program(program)
        if found is None:
            return None
        command = [self.path(found), *args]
        shown = " ".join([program, *args])
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": ":".join(self.program_dirs), "LC_ALL": "C", "SYSTEMD_PAGER": ""},
                start_new_session=True,  # its own process group: a timeout kills it all
            )
        except OSError as exc:
            self.notes.append(f"cannot run {shown}: {exc.strerror or exc}")
            return None
        try:
            output, errors = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            self._silent.add(program)
            self.notes.append(
                f"`{shown}` did not answer within {self.timeout:g} s; {program} was not asked again"
            )
            return None
        return (
            process.returncode,
            output.decode("utf-8", "replace"),
            errors.decode("utf-8", "replace"),
        )

    # -- modules, devices, block devices, networking -------------------------------------

    def modules(self) -> dict[str, KernelModule] | None:
        if not os.path.isdir(self.path("/sys/module")):
            return None
        modules = {}
        for name in MODULES:
            base = f"/sys/module/{name}"
            if not os.path.isdir(self.path(base)):
                modules[name] = KernelModule(name, loaded=False)
                continue
            parameters = {}
            for parameter in self.listdir(base + "/parameters"):
                value = self.read(f"{base}/parameters/{parameter}", quiet=True)
                if value is not None:
                    parameters[parameter] = value.strip()
            modules[name] = KernelModule(name, loaded=True, parameters=parameters)
        return modules

    def devices(self) -> dict[str, DeviceNode] | None:
        if not os.path.isdir(self.path("/dev")):
            return None
        nodes = {}
        for absolute in DEVICE_NODES:
            full = self.path(absolute)
            try:
                info = os.stat(full)
            except FileNotFoundError:
                nodes[absolute] = DeviceNode(absolute, exists=False)
                continue
            except OSError as exc:
                self.notes.append(f"cannot examine {absolute}: {exc.strerror or exc}")
                continue
            nodes[absolute] = DeviceNode(
                absolute,
                exists=True,
                char_device=stat.S_ISCHR(info.st_mode),
                mode=stat.S_IMODE(info.st_mode),
                owner=self._user(info.st_uid),
                group=self._group(info.st_gid),
                accessible=os.access(full, os.R_OK | os.W_OK),
            )
        return nodes

    def _user(self, uid: int) -> str:
        if self.root == "/":
            import pwd

            try:
                return pwd.getpwuid(uid).pw_name
            except KeyError:
                return str(uid)
        name = _name_in(self.read("/etc/passwd", quiet=True), uid)
        return name if name is not None else str(uid)

    def _group(self, gid: int) -> str:
        if self.root == "/":
            import grp

            try:
                return grp.getgrgid(gid).gr_name
            except KeyError:
                return str(gid)
        name = _name_in(self.read("/etc/group", quiet=True), gid)
        return name if name is not None else str(gid)

    def block_devices(self) -> dict[str, BlockDevice] | None:
        if not os.path.isdir(self.path("/sys/block")):
            return None
        devices = {}
        for name in self.listdir("/sys/block"):
            text = self.line(f"/sys/block/{name}/queue/scheduler")
            if text:
                devices[name] = BlockDevice(name, Choice.parse(text))
        return devices

    def arp_filter(self) -> dict[str, int] | None:
        base = "/proc/sys/net/ipv4/conf"
        if not os.path.isdir(self.path(base)):
            return None
        values = {}
        for name in self.listdir(base):
            value = self.integer(f"{base}/{name}/arp_filter")
            if value is not None:
                values[name] = value
        return values


def _name_in(table: str | None, number: int) -> str | None:
    """The name of ``number`` in /etc/passwd or /etc/group text (read below the root)."""
    for line in (table or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2] == str(number):
            return fields[0]
    return None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    try:
        process.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        pass
