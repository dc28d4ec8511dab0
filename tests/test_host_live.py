"""Live lint (`--connect URI --domain NAME | --all-domains`) against libvirt's test driver.

`test:///default` keeps its state per process while a connection is open, so
tests that define domains and then check what `--fix` did run the CLI in this
process, holding a connection of their own. Domain lifecycle events from
libvirt itself tell whether a domain was redefined.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from domxml_lint import cli
from domxml_lint.live import LiveSession, open_connection
from helpers import RULE_FIXTURES, require_libvirt, require_virsh, run_cli
from samples import domain

URI = "test:///default"
_loop_started = False
_names = itertools.count()


def _start_event_loop(libvirt) -> None:
    global _loop_started
    if _loop_started:
        return
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, name="libvirt-events", daemon=True).start()
    _loop_started = True


class LibvirtTestDriver:
    """A connection that keeps test:///default alive and records lifecycle events."""

    def __init__(self, libvirt) -> None:
        self.libvirt = libvirt
        self.conn = libvirt.open(URI)
        self.events: list[tuple[str, int, int]] = []
        self.conn.domainEventRegisterAny(
            None,
            libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda _c, dom, event, detail, _o: self.events.append((dom.name(), event, detail)),
            None,
        )

    def define(self, xml: str):
        return self.conn.defineXMLFlags(xml, self.libvirt.VIR_DOMAIN_DEFINE_VALIDATE)

    def settle(self) -> list[tuple[str, int, int]]:
        """Every event so far: a barrier domain's own event proves earlier ones arrived."""
        barrier = f"barrier-{next(_names)}"
        domain = self.define(_domain(barrier, io=None))
        deadline = time.monotonic() + 30
        while not any(e[0] == barrier for e in self.events):
            assert time.monotonic() < deadline, "libvirt delivered no event"
            time.sleep(0.01)
        domain.undefine()
        return [e for e in self.events if not e[0].startswith("barrier-")]

    def redefinitions(self, name: str) -> int:
        updated = (
            self.libvirt.VIR_DOMAIN_EVENT_DEFINED,
            self.libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED,
        )
        return sum(1 for e in self.settle() if e[0] == name and e[1:] == updated)

    def inactive_xml(self, name: str, secure: bool = False) -> str:
        flags = self.libvirt.VIR_DOMAIN_XML_INACTIVE
        if secure:
            flags |= self.libvirt.VIR_DOMAIN_XML_SECURE
        return self.conn.lookupByName(name).XMLDesc(flags)


@pytest.fixture(scope="module")
def driver():
    libvirt = require_libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    _start_event_loop(libvirt)
    test_driver = LibvirtTestDriver(libvirt)
    yield test_driver
    test_driver.conn.close()


def _domain(name: str, *, io: str | None = "native", extra: str = "") -> str:
    """A guest to define on the test driver, with one disk (io='native' unless told)."""
    native = f" io='{io}'" if io else ""
    disk = (
        "    <disk type='file' device='disk'>\n"
        f"      <driver name='qemu' type='raw'{native}/>\n"
        f"      <source file='/var/lib/libvirt/images/{name}.img'/>\n"
        "      <target dev='vda' bus='virtio'/>\n"
        f"    </disk>{extra}"
    )
    memory = "<memory unit='MiB'>1024</memory>"
    os = "<os><type arch='x86_64'>hvm</type></os>\n  <features><acpi/></features>"
    return domain(name=name, memory=memory, os=os, devices=disk)  # fmt: skip


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- in this process, against a test:///default we can inspect -------------------------------------


def test_fix_redefines_only_when_a_fix_applied(driver, capsys):
    driver.define(_domain("dx-native"))
    try:
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-native", "--fix")
        assert code == 0, out + err
        assert out == "No findings left in 1 domain (1 fixed).\n"
        assert err == f"domxml-lint: redefined {URI}/domain/dx-native with 1 fix\n"
        assert driver.redefinitions("dx-native") == 1
        assert "<driver name='qemu' type='raw' cache='none' io='native'/>" in driver.inactive_xml(
            "dx-native"
        )
        # Nothing left to fix: the domain is not redefined again.
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-native", "--fix")
        assert (code, out, err) == (0, "No findings in 1 domain.\n", "")
        assert driver.redefinitions("dx-native") == 1
    finally:
        driver.conn.lookupByName("dx-native").undefine()


def test_diff_shows_the_fix_and_redefines_nothing(driver, capsys):
    driver.define(_domain("dx-diff"))
    before = driver.inactive_xml("dx-diff")
    try:
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-diff", "--diff")
        assert code == 1 and err == ""
        path = f"{URI}/domain/dx-diff"
        assert out.startswith(f"--- a/{path}\n+++ b/{path}\n")
        assert "-      <driver name='qemu' type='raw' io='native'/>\n" in out
        assert "+      <driver name='qemu' type='raw' io='native' cache='none'/>\n" in out
        assert driver.redefinitions("dx-diff") == 0
        assert driver.inactive_xml("dx-diff") == before
    finally:
        driver.conn.lookupByName("dx-diff").undefine()


def test_fix_never_touches_a_running_guest(driver, capsys):
    domain = driver.define(_domain("dx-running"))
    domain.create()
    try:
        live_before, id_before = domain.XMLDesc(0), domain.ID()
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-running", "--fix")
        assert code == 0, out + err
        assert err == (
            f"domxml-lint: redefined {URI}/domain/dx-running with 1 fix "
            "(the running guest uses it from its next start)\n"
        )
        assert "cache='none'" in driver.inactive_xml("dx-running")
        assert domain.isActive() and domain.ID() == id_before
        assert domain.XMLDesc(0) == live_before  # the live definition is untouched
    finally:
        domain.destroy()
        domain.undefine()


def test_fix_keeps_secrets_the_plain_xml_hides(driver, capsys):
    graphics = "\n    <graphics type='vnc' port='-1' passwd='s3cret'/>"
    driver.define(_domain("dx-secret", extra=graphics))
    try:
        assert "passwd" not in driver.inactive_xml("dx-secret")
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-secret", "--fix")
        assert code == 0, out + err
        secure = driver.inactive_xml("dx-secret", secure=True)
        assert "passwd='s3cret'" in secure and "cache='none'" in secure
    finally:
        driver.conn.lookupByName("dx-secret").undefine()


def test_all_domains_lints_every_persistent_domain(driver, capsys):
    driver.define(_domain("dx-all"))
    transient = driver.conn.createXML(_domain("dx-transient"), 0)
    try:
        code, out, err = _run(capsys, "--connect", URI, "--all-domains")
        assert code == 1 and err == ""
        lines = out.splitlines()
        assert len(lines) == 2  # `test` is clean; the transient domain is not linted
        assert lines[0].startswith(f"{URI}/domain/dx-all:") and " DX404 [*] disk 'vda'" in lines[0]
        assert lines[-1] == "1 finding in 1 of 2 domains (1 fixable with --fix)."
        # A transient domain has no persistent definition: asking for it is an error.
        code, out, err = _run(capsys, "--connect", URI, "--domain", "dx-transient")
        assert code == 2
        assert err == (
            f"domxml-lint: error: {URI}/domain/dx-transient: is a transient domain: it has no "
            "persistent definition to lint (save it with `virsh dumpxml dx-transient > "
            "dx-transient.xml` and lint the file)\n"
        )
    finally:
        transient.destroy()
        driver.conn.lookupByName("dx-all").undefine()


def test_the_connection_is_the_host_model(driver):
    session = LiveSession(open_connection(URI), None)
    host = session.host()
    assert host.sources == (f"{URI} capabilities",)
    live = {c.id: sorted(c.cpu_ids) for c in host.cells}
    assert live == {0: list(range(8)), 1: list(range(8, 16))}
    session.connection.close()


# -- as a user runs it ----------------------------------------------------------------------


def test_lint_the_test_domain(tmp_path):
    require_libvirt()
    for selection in (["--domain", "test"], ["--all-domains"]):
        done = run_cli("--connect", URI, *selection)
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            b"No findings in 1 domain.\n",
            b"",
        )
    done = run_cli("--connect", URI, "--domain", "test", "--output-format", "json")
    assert done.returncode == 0 and done.stdout == b"[]\n"


NODE = """<node>
  <domain type='kvm'>
    <name>dx404</name>
    <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
    <memory>1048576</memory>
    <vcpu>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <features><acpi/></features>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw' io='native'/>
        <source file='/var/lib/libvirt/images/dx404.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </domain>
</node>
"""


@pytest.mark.parametrize("via", ["libvirt-python", "virsh"])
def test_findings_name_the_domain_and_the_connection(tmp_path, via):
    require_libvirt() if via == "libvirt-python" else require_virsh()
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    uri = f"test://{node}"
    done = run_cli("--connect", uri, "--all-domains", "--via", via)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{uri}/domain/dx404:")
    assert lines[0].endswith(
        "DX404 [*] disk 'vda': io='native' with no cache mode: libvirt refuses it (needs "
        "cache='none' or 'directsync') (io-native-needs-direct-cache)"
    )
    json_run = run_cli(
        "--connect", uri, "--domain", "dx404", "--via", via, "--output-format", "json"
    )
    assert b'"filename": "' + f"{uri}/domain/dx404".encode() + b'"' in json_run.stdout


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["--connect", URI, "--domain", "nope"],
            f"domxml-lint: error: {URI}/domain/nope: no such domain (list the defined domains with "
            f"`virsh -c {URI} list --all`)",
        ),
        (
            ["--connect", "test:///nonexistent/path.xml", "--domain", "x"],
            "domxml-lint: error: cannot connect to test:///nonexistent/path.xml: ",
        ),
        (
            ["--connect", "bogus:///x", "--all-domains"],
            "domxml-lint: error: cannot connect to bogus:///x: ",
        ),
        (
            ["--connect", URI],
            "domxml-lint: error: --connect needs --domain NAME, --all-domains, or paths",
        ),
    ],
)
def test_errors_are_one_line_and_exit_2(args, expected):
    require_libvirt()
    done = run_cli(*args)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(expected), err
    assert "I/O warning" not in err and "Traceback" not in err


def test_permission_denied_is_one_line_and_exit_2(tmp_path, corpus):
    require_libvirt()
    node = tmp_path / "auth-node.xml"
    node.write_bytes((corpus / "testdriver" / "virsh-auth.xml").read_bytes())
    for extra in ([], ["--fix"]):
        done = run_cli("--connect", f"test://{node}", "--all-domains", *extra)
        assert done.returncode == 2
        err = done.stderr.decode()
        assert err.count("\n") == 1 and err.startswith(
            f"domxml-lint: error: permission denied on test://{node}: "
        )
    assert "--fix needs a read-write connection" in err


def test_files_lint_against_the_connection_host():
    require_libvirt()
    clean = RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"
    done = run_cli("--connect", URI, str(clean))
    assert (done.returncode, done.stdout) == (0, b"No findings in 1 file.\n")
    # a file and a live domain in one run: the summary counts each as what it is
    done = run_cli("--connect", URI, "--domain", "test", str(clean))
    assert (done.returncode, done.stdout) == (0, b"No findings in 1 file and 1 domain.\n")


@pytest.mark.parametrize("via", ["libvirt-python", "virsh"])
def test_fix_redefines_through_either_client(tmp_path, via):
    # A node file's domains are defined and running; each process (each virsh call too)
    # starts from the file, so the domain has a fixed UUID to read the same every time.
    require_libvirt() if via == "libvirt-python" else require_virsh()
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    uri = f"test://{node}"
    done = run_cli("--connect", uri, "--domain", "dx404", "--via", via, "--fix")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"No findings left in 1 domain (1 fixed).\n"
    assert done.stderr.decode() == (
        f"domxml-lint: redefined {uri}/domain/dx404 with 1 fix "
        "(the running guest uses it from its next start)\n"
    )
