"""Reading system facts: this real machine, trees written by the tests, and the CLI.

The real-machine tests compare what domxml-lint collects with what the test
reads itself from /proc, /sys and systemctl, so they hold on any Linux host
(the CI machine is one). Trees below tmp_path cover what this machine does not
have (huge page pools, hugetlbfs mounts, tuned, a non-NUMA kernel); small
shell scripts stand in for systemctl only where its timeout and output
handling are the point.
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import attrs
import pytest

from domxml_lint.document import Document
from domxml_lint.host import host_from_documents, load_host
from domxml_lint.host.cli import _facts_for, is_remote_uri, same_machine
from domxml_lint.host.collect import PROGRAM_DIRS, collect_system, parse_pagesize_kib
from domxml_lint.host.system import HostSystem, HugePagePool
from domxml_lint.live import Capture
from helpers import FIXTURES, HOSTS, IN_CI, REPO, require_libvirt, run_cli

TREE = FIXTURES.parent / "host-trees" / "epyc-2node"


def _linux():
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"):
        if IN_CI:
            pytest.fail("CI=true but this is not a Linux host with /proc")
        pytest.skip("system facts are read from a Linux host")


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _program(root: Path, relative: str, script: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(0o755)
    return path


# -- this machine -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def here():
    _linux()
    return collect_system()


def test_this_machine_names_itself(here):
    system = here.system
    assert system.hostname == socket.gethostname()
    assert system.kernel_release == platform.release()
    assert system.cmdline == _read("/proc/cmdline").strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", system.collected)


def test_this_machines_memory(here):
    meminfo = dict(
        (m.group(1), int(m.group(2)))
        for m in re.finditer(r"^(\w+):\s+(\d+)", _read("/proc/meminfo"), re.M)
    )
    memory = here.system.memory
    assert memory.total_kib == meminfo["MemTotal"] > 0
    assert 0 < memory.available_kib <= memory.total_kib
    assert memory.swap_total_kib == meminfo["SwapTotal"]
    assert here.system.hugepages.default_size_kib == meminfo.get("Hugepagesize")


def test_this_machines_kernel_memory_settings(here):
    system = here.system
    enabled = _read("/sys/kernel/mm/transparent_hugepage/enabled")
    if enabled is None:
        assert system.transparent_hugepages is None
    else:
        assert system.transparent_hugepages.mode == re.search(r"\[(\S+)\]", enabled).group(1)
        assert str(system.transparent_hugepages.enabled) == enabled.strip()
    if os.path.isdir("/sys/kernel/mm/ksm"):
        for name in ("run", "merge_across_nodes", "pages_to_scan", "sleep_millisecs"):
            assert getattr(system.ksm, name) == int(_read(f"/sys/kernel/mm/ksm/{name}")), name
    else:
        assert system.ksm is None
    balancing = _read("/proc/sys/kernel/numa_balancing")
    assert system.numa_balancing == (None if balancing is None else int(balancing))
    nodes = sorted(glob.glob("/sys/devices/system/node/node[0-9]*"))
    if nodes:
        assert system.numa_nodes == {int(n.rsplit("node", 1)[1]) for n in nodes}
    pools = {}
    for directory in glob.glob("/sys/devices/system/node/node*/hugepages/hugepages-*kB"):
        node = int(re.search(r"/node(\d+)/", directory).group(1))
        size = int(re.search(r"hugepages-(\d+)kB", directory).group(1))
        pools[(node, size)] = int(_read(f"{directory}/nr_hugepages"))
    if pools:
        assert {(p.node, p.size_kib): p.total for p in system.hugepages.pools} == pools
        assert all(p.free is not None and 0 <= p.free <= p.total for p in system.hugepages.pools)
    mounts = [
        line.split()[1]
        for line in _read("/proc/mounts").splitlines()
        if line.split()[2:3] == ["hugetlbfs"]
    ]
    assert [m.path.replace(" ", "\\040") for m in system.hugetlbfs_mounts] == mounts


def test_this_machines_devices_modules_and_network(here):
    system = here.system
    schedulers = {}
    for path in glob.glob("/sys/block/*/queue/scheduler"):
        text = _read(path).strip()
        if text:
            schedulers[path.split("/")[3]] = text
    assert {n: str(b.scheduler) for n, b in system.block_devices.items()} == schedulers
    for name, device in system.block_devices.items():
        bracketed = re.search(r"\[(\S+)\]", schedulers[name])
        assert device.scheduler.selected == (bracketed.group(1) if bracketed else schedulers[name])
    for name, module in system.modules.items():
        assert module.loaded == os.path.isdir(f"/sys/module/{name}")
    vhost = system.module("vhost_net")
    if vhost.loaded and os.path.exists("/sys/module/vhost_net/parameters/experimental_zcopytx"):
        zcopy = _read("/sys/module/vhost_net/parameters/experimental_zcopytx")
        assert vhost.parameters["experimental_zcopytx"] == zcopy.strip()
    for path, node in system.devices.items():
        assert node.exists == os.path.exists(path)
        if node.exists:
            info = os.stat(path)
            assert node.char_device == stat.S_ISCHR(info.st_mode)
            assert node.mode == stat.S_IMODE(info.st_mode)
            assert node.accessible == os.access(path, os.R_OK | os.W_OK)
    arp = {
        path.split("/")[-2]: int(_read(path))
        for path in glob.glob("/proc/sys/net/ipv4/conf/*/arp_filter")
    }
    assert system.arp_filter == arp and {"all", "default"} <= set(arp)


def test_this_machines_services(here):
    system = here.system
    running = os.path.isdir("/run/systemd/system")
    assert system.systemd is running
    systemctl = shutil.which("systemctl", path=":".join(PROGRAM_DIRS))
    for name, service in system.services.items():
        if not running or systemctl is None:
            assert service.enabled is None and service.active is None
            continue
        active = subprocess.run(
            [systemctl, "is-active", f"{name}.service"], capture_output=True, text=True
        ).stdout.strip()
        assert service.active == active
        enabled = subprocess.run(
            [systemctl, "is-enabled", f"{name}.service"], capture_output=True, text=True
        )
        word = enabled.stdout.strip()
        if not word and ("No such file" in enabled.stderr or "not found" in enabled.stderr):
            word = "not-found"  # systemd before 254 says so on stderr only
        assert service.enabled == (word or None)
    numad = shutil.which("numad", path=":".join(PROGRAM_DIRS))
    assert system.service("numad").installed == (numad is not None)
    if not running:
        assert any("systemd is not running" in note for note in here.notes)


def test_host_facts_without_root(tmp_path, request):
    """`host facts` as an unprivileged user: it runs, reads what the kernel lets it, and
    fails nothing. As root, the test drops to nobody with setpriv; else it already is."""
    _linux()
    command = [sys.executable, "-m", "domxml_lint", "host", "facts"]
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "PYTHONPATH": str(REPO / "src")}
    if os.geteuid() == 0:
        # nobody must be able to read the package: a clone under a 0700 directory
        # (mktemp -d) is not, so it gets a world-readable copy.
        readable = Path(tempfile.mkdtemp(prefix="domxml-lint-src-", dir="/tmp"))
        request.addfinalizer(lambda: shutil.rmtree(readable, ignore_errors=True))
        readable.chmod(0o755)
        shutil.copytree(
            REPO / "src" / "domxml_lint",
            readable / "domxml_lint",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        env["PYTHONPATH"] = str(readable)
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            if IN_CI:
                pytest.fail("CI=true but setpriv (util-linux) is missing")
            pytest.skip("needs setpriv to drop root")
        command = [
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            *command,
        ]
    done = subprocess.run(command, capture_output=True, env=env, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr.decode()
    doc = Document.parse(done.stdout, "facts")
    assert doc.root.get("version") == "2"
    host = host_from_documents(("facts", done.stdout))
    system = host.system
    assert system.hostname == socket.gethostname()
    assert system.cmdline == _read("/proc/cmdline").strip()
    assert system.memory.total_kib > 0
    if os.path.exists("/dev/kvm") and os.geteuid() == 0:
        info = os.stat("/dev/kvm")
        world = stat.S_IMODE(info.st_mode) & 0o006 == 0o006
        assert system.device("/dev/kvm").accessible == world  # as nobody, not as root
    assert (
        done.stderr.decode()
        .splitlines()[-1]
        .startswith(f"domxml-lint: wrote standard output: system facts of {socket.gethostname()}")
    )


# -- trees ----------------------------------------------------------------------------------------


def test_a_bare_tree_knows_nothing(tmp_path):
    collected = collect_system(str(tmp_path))
    system = collected.system
    assert system.services is not None and all(
        s.enabled is None and s.active is None and s.installed is None
        for s in system.services.values()
    )
    assert system.systemd is None
    rest = {
        name: getattr(system, name)
        for name in attrs.fields_dict(HostSystem)
        if name not in ("collected", "services", "systemd", "source")
    }
    assert len(rest) == 15 and all(value is None for value in rest.values()), rest
    assert collected.notes == (f"no /run below {tmp_path}: service states unknown",)


def test_a_kernel_without_numa_has_host_wide_pools(tmp_path):
    root = _tree(
        tmp_path,
        {
            "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages": "64\n",
            "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages": "60\n",
            "sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages": "0\n",
            "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages": "1\n",
            "proc/meminfo": "MemTotal: 1000 kB\nHugepagesize:       2048 kB\n",
        },
    )
    pages = collect_system(str(root)).system.hugepages
    assert pages.default_size_kib == 2048
    assert pages.pools == (
        HugePagePool(None, 2048, 64, 60, 0),
        HugePagePool(None, 1048576, 1, None, None),
    )


@pytest.mark.parametrize(
    "text,kib",
    [("2M", 2048), ("1024M", 1048576), ("1G", 1048576), ("64K", 64), ("2097152", 2048)],
)
def test_hugetlbfs_page_sizes(text, kib):
    assert parse_pagesize_kib(text) == kib


def test_hugetlbfs_mounts(tmp_path):
    root = _tree(
        tmp_path,
        {
            "proc/meminfo": "Hugepagesize:    1048576 kB\n",
            "proc/mounts": "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
            "none /mnt/huge\\040pages hugetlbfs rw,relatime 0 0\n"
            "odd /mnt/odd hugetlbfs rw,pagesize=huge 0 0\n"
            "tmpfs /dev/shm tmpfs rw 0 0\n",
        },
    )
    mounts = collect_system(str(root)).system.hugetlbfs_mounts
    assert [(m.path, m.page_size_kib, m.explicit) for m in mounts] == [
        ("/dev/hugepages", 2048, True),
        ("/mnt/huge pages", 1048576, False),  # no pagesize=: the kernel's default size
        ("/mnt/odd", None, True),  # a size it cannot read stays unknown
    ]


def test_an_unreadable_fact_is_a_note_not_a_failure(tmp_path):
    root = _tree(tmp_path, {"sys/kernel/mm/ksm/merge_across_nodes": "1\n"})
    (root / "sys/kernel/mm/ksm/run").mkdir()  # reading it fails, as a root-only file would
    collected = collect_system(str(root))
    assert collected.system.ksm.run is None and collected.system.ksm.merge_across_nodes == 1
    assert "cannot read /sys/kernel/mm/ksm/run: Is a directory" in collected.notes


def test_tuned_from_its_file_or_from_tuned_adm(tmp_path):
    with_file = _tree(
        tmp_path / "a", {"etc/tuned/active_profile": "virtual-host  realtime\n", "run/x": ""}
    )
    tuned = collect_system(str(with_file)).system.tuned
    assert (tuned.profile, tuned.profiles, tuned.mode) == (
        "virtual-host realtime",
        ("virtual-host", "realtime"),
        None,
    )
    off = _tree(
        tmp_path / "b", {"etc/tuned/active_profile": "\n", "etc/tuned/profile_mode": "manual\n"}
    )
    assert collect_system(str(off)).system.tuned.profile == ""
    by_command = tmp_path / "c"
    _program(
        by_command, "usr/sbin/tuned-adm", 'echo "Current active profile: throughput-performance"\n'
    )
    tuned = collect_system(str(by_command), commands=True).system.tuned
    assert (tuned.profile, tuned.source) == ("throughput-performance", "tuned-adm active")
    assert collect_system(str(by_command)).system.tuned is None  # commands off below a root


def test_service_states_come_from_systemctl(tmp_path):
    root = _tree(tmp_path, {"run/systemd/system/.keep": ""})
    # Answers as systemd 252 does: known units print their state; an unknown unit prints
    # nothing on stdout for is-enabled, and "inactive" for is-active.
    _program(
        root,
        "usr/bin/systemctl",
        """\
        case "$2" in
          ksm.service|tuned.service) [ "$1" = is-enabled ] && echo enabled || echo active ;;
          numad.service) [ "$1" = is-enabled ] && echo disabled || echo inactive; exit 3 ;;
          *) if [ "$1" = is-enabled ]; then
               echo "Failed to get unit file state for $2: No such file or directory" >&2
               exit 1
             fi
             echo inactive; exit 3 ;;
        esac
        """,
    )
    _program(root, "usr/sbin/numad", "")
    system = collect_system(str(root), commands=True).system
    states = {name: (s.enabled, s.active, s.installed) for name, s in system.services.items()}
    assert states == {
        "ksm": ("enabled", "active", None),
        "ksmtuned": ("not-found", "inactive", False),
        "numad": ("disabled", "inactive", True),
        "tuned": ("enabled", "active", False),
        "irqbalance": ("not-found", "inactive", False),
    }


def test_a_command_that_hangs_is_killed_and_not_asked_again(tmp_path):
    root = _tree(tmp_path, {"run/systemd/system/.keep": ""})
    calls, grandchild = tmp_path / "calls", tmp_path / "grandchild"
    # It also starts a grandchild holding its output open: the whole group must go.
    _program(
        root,
        "usr/bin/systemctl",
        f'echo "$@" >> {calls}\nsleep 300 &\necho $! > {grandchild}\nsleep 300\n',
    )
    collected = collect_system(str(root), commands=True, timeout=0.5)
    assert _gone(int(grandchild.read_text()))
    assert all(s.enabled is None and s.active is None for s in collected.system.services.values())
    assert calls.read_text().splitlines() == ["is-enabled ksm.service"]
    assert (
        "`systemctl is-enabled ksm.service` did not answer within 0.5 s; systemctl was not "
        "asked again" in collected.notes
    )


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for a reaper counts as ended)."""
    for _ in range(100):
        stat_text = _read(f"/proc/{pid}/stat")
        if stat_text is None or stat_text.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


# -- where facts may be taken -------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri,remote",
    [
        ("qemu:///system", False),
        ("qemu:///session", False),
        ("test:///default", False),
        ("qemu+unix:///system", False),
        ("qemu:///embed?root=/tmp/x", False),
        ("qemu+ssh://kvm-01/system", True),
        ("qemu+ssh://root@kvm-01:2222/system", True),
        ("qemu+tcp:///system", True),
        ("qemu+tls://kvm-01.example.com/system", True),
        ("qemu://kvm-01/system", True),
        ("xen+ssh://[2001:db8::1]/", True),
    ],
)
def test_remote_uris(uri, remote):
    assert is_remote_uri(uri) is remote


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("kvm-01", "kvm-01", True),
        ("kvm-01", "KVM-01.example.com", True),
        ("kvm-01.example.com.", "kvm-01.example.com", True),
        ("kvm-01.a.example", "kvm-01.b.example", False),
        ("kvm-01", "kvm-02", False),
        (None, "kvm-02", True),
    ],
)
def test_host_names_of_one_machine(a, b, same):
    assert same_machine(a, b) is same


def _capture(uri: str, hostname: str | None) -> Capture:
    return Capture(
        uri, "9.0.0", (), (), hypervisor="QEMU", hypervisor_version="7.2.0", hostname=hostname
    )


def test_a_remote_host_gets_no_facts_from_this_machine():
    notes, warnings = [], []
    capture = _capture("qemu+ssh://kvm-01.example.com/system", "kvm-01.example.com")
    assert _facts_for(capture, notes, warnings) is None
    assert warnings == [
        "qemu+ssh://kvm-01.example.com/system is a remote URI: system facts (THP, KSM, huge "
        "pages, tuned, services ...) can only be read on the machine itself, so none were "
        "recorded; run `domxml-lint host facts -o facts.xml` on kvm-01.example.com and add them "
        "with `--facts facts.xml`"
    ]


def test_a_remote_uri_that_reaches_this_machine_gets_its_facts():
    _linux()
    notes, warnings = [], []
    section = _facts_for(
        _capture("qemu+ssh://localhost/system", socket.gethostname()), notes, warnings
    )
    assert warnings == [] and f"hostname='{socket.gethostname()}'" in section


def test_a_local_uri_on_another_host_name_is_warned_about():
    _linux()
    notes, warnings = [], []
    section = _facts_for(_capture("qemu:///system", "not-this-machine"), notes, warnings)
    assert section is not None
    assert warnings == [
        f"qemu:///system names its host 'not-this-machine', but this machine is "
        f"{socket.gethostname()!r}: the system facts recorded are this machine's"
    ]


# -- the command line ---------------------------------------------------------------------------


def test_host_facts_from_a_tree_and_host_show(tmp_path):
    out = tmp_path / "facts.xml"
    done = run_cli("host", "facts", "--root", str(TREE), "-o", str(out))
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode().splitlines()
    assert err == [
        "domxml-lint: note: commands not run: service states unknown",
        f"domxml-lint: wrote {out}: system facts of kvm-epyc-01.example.com (Linux "
        "5.14.0-362.8.1.el9_3.x86_64, THP never, KSM running, huge pages 8192 x 2M, 16 x 1G, "
        "tuned virtual-host)",
    ]
    host = load_host(out)
    assert host.system.hugepages.total_pages(2048) == 8192 and host.capabilities is None
    shown = run_cli("host", "show", str(HOSTS / "epyc-2node-system.xml"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    assert lines[0].endswith(
        ", 6 PCI devices, libvirt 10.0.0, QEMU 8.2.0, system facts of kvm-epyc-01.example.com "
        "(Linux 5.14.0-362.8.1.el9_3.x86_64, THP never, KSM running, huge pages 8192 x 2M, "
        "16 x 1G, tuned virtual-host)"
    )
    for expected in (
        "  libvirt: qemu:///system on kvm-epyc-01.example.com: libvirt 10.0.0, QEMU 8.2.0",
        "    hugetlbfs mounts: /dev/hugepages (2 MiB), /dev/hugepages1G (1 GiB)",
        "    services: ksm enabled/active; ksmtuned enabled/active; numad disabled/inactive; "
        "tuned enabled/active; irqbalance enabled/active",
        "    modules: kvm loaded; kvm_intel not loaded; kvm_amd loaded, nested=1, avic=0; "
        "vhost_net loaded, experimental_zcopytx=1",
        "    device nodes: /dev/kvm 0666 root:kvm, accessible; /dev/vhost-net 0666 root:root, "
        "accessible",
        "    I/O schedulers: dm-0 none, nvme0n1 none, sda mq-deadline",
    ):
        assert expected in lines, "\n".join(lines)
    bad = run_cli("host", "facts", "--root", str(tmp_path / "nowhere"))
    assert bad.returncode == 2 and bad.stdout == b""
    assert (
        bad.stderr.decode()
        == f"domxml-lint: error: --root {tmp_path / 'nowhere'}: not a directory\n"
    )


def _system_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"<system") : data.index(b"</system>") + len(b"</system>")]


def test_snapshot_takes_given_facts_verbatim(tmp_path):
    require_libvirt()
    facts = tmp_path / "facts.xml"
    assert run_cli("host", "facts", "--root", str(TREE), "-o", str(facts)).returncode == 0
    out = tmp_path / "snap.xml"
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--facts", str(facts), "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert _system_bytes(out) == _system_bytes(facts)
    # The facts were taken on another machine than libvirt's: said once, as a warning.
    warnings = [line for line in done.stderr.decode().splitlines() if "warning:" in line]
    assert warnings == [
        f"domxml-lint: warning: {facts} holds the facts of 'kvm-epyc-01.example.com', but "
        f"test:///default names its host {socket.gethostname()!r}; check that they are one machine"
    ]
    host = load_host(out)
    assert host.system.hostname == "kvm-epyc-01.example.com" and host.capabilities is not None


def test_snapshot_without_facts_and_merging_later(tmp_path):
    require_libvirt()
    bare, facts = tmp_path / "bare.xml", tmp_path / "facts.xml"
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--no-facts", "-o", str(bare)
    )
    assert done.returncode == 0, done.stderr
    assert b"<system" not in bare.read_bytes() and load_host(bare).system is None
    assert done.stderr.decode().splitlines()[-1].endswith(", no system facts")
    assert run_cli("host", "facts", "--root", str(TREE), "-o", str(facts)).returncode == 0
    both = load_host(bare, facts)
    assert (
        both.system == load_host(facts).system and both.capabilities == load_host(bare).capabilities
    )
    clean = REPO / "fixtures" / "xml" / "rules" / "disk-cache-unsafe" / "clean.xml"
    linted = run_cli("--host", str(bare), "--host", str(facts), str(clean))
    assert linted.returncode == 0, linted.stderr


def test_snapshot_takes_facts_from_a_file_in_another_encoding(tmp_path):
    require_libvirt()
    text = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n<domxml-lint-host-snapshot version='2'>\n"
        "<system hostname='kvm-\u00e9t\u00e9'><numa balancing='1'/></system>\n"
        "</domxml-lint-host-snapshot>\n"
    )
    facts, out = tmp_path / "facts.xml", tmp_path / "snap.xml"
    facts.write_bytes(text.encode("iso-8859-1"))
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--facts", str(facts), "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    system = load_host(out).system
    assert system.hostname == "kvm-\u00e9t\u00e9" and system.numa_balancing == 1


@pytest.mark.parametrize(
    "content,message",
    [
        (
            "<domxml-lint-host-snapshot version='2'/>",
            "holds no system facts (<system>) (write them on the host with `domxml-lint host "
            "facts -o FILE`)",
        ),
        ("<capabilities/>", "root element is <capabilities>, not a snapshot bundle"),
        ("<domxml-lint-host-snapshot version='9'/>", "snapshot version 9 is newer"),
    ],
)
def test_snapshot_refuses_a_facts_file_without_facts(tmp_path, content, message):
    facts = tmp_path / "facts.xml"
    facts.write_text(content)
    out = tmp_path / "snap.xml"
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--facts", str(facts), "-o", str(out)
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert (
        err.startswith(f"domxml-lint: error: {facts}:1: ")
        and message in err
        and err.count("\n") == 1
    )
    assert not out.exists()


def test_facts_and_no_facts_exclude_each_other(tmp_path):
    done = run_cli("host", "snapshot", "--facts", "x.xml", "--no-facts")
    assert done.returncode == 2 and b"not allowed with argument" in done.stderr
