"""`domxml-lint host snapshot` against real libvirt: its test driver, `test:///default`.

Run as a user runs it (a subprocess). The round trip compares the snapshot,
loaded back, with the live connection read independently (plain lxml XPath).
"""

from __future__ import annotations

import os
import socket
import sys

import pytest
from lxml import etree

from domxml_lint.document import Document
from domxml_lint.host import inner_documents, load_host
from helpers import HOSTS, REPO, require_libvirt, require_virsh, run_cli

URI = "test:///default"


def _live_capabilities():
    libvirt = require_libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.openReadOnly(URI)
    try:
        return conn.getCapabilities()
    finally:
        conn.close()


def _cells_of(xml: str):
    """Cells, CPUs and page sizes straight from the XML, without domxml-lint's parser."""
    root = etree.fromstring(xml.encode())
    cells = {}
    for cell in root.iterfind("host/topology/cells/cell"):
        cells[int(cell.get("id"))] = {
            "cpus": sorted(int(c.get("id")) for c in cell.iterfind("cpus/cpu")),
            "sockets": sorted({int(c.get("socket_id")) for c in cell.iterfind("cpus/cpu")}),
            "memory_kib": int(cell.findtext("memory")),
            "pages": {int(p.get("size")): int(p.text) for p in cell.iterfind("pages")},
        }
    sizes = sorted(int(p.get("size")) for p in root.iterfind("host/cpu/pages"))
    return cells, sizes


def _model_cells(host):
    return {
        cell.id: {
            "cpus": sorted(cell.cpu_ids),
            "sockets": sorted({cpu.socket_id for cpu in cell.cpus}),
            "memory_kib": cell.memory_kib,
            "pages": dict(cell.pages),
        }
        for cell in host.cells
    }


def test_snapshot_round_trip_matches_the_live_connection(tmp_path):
    live_xml = _live_capabilities()
    out = tmp_path / "host.xml"
    done = run_cli("host", "snapshot", "--connect", URI, "-o", str(out))
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode().splitlines()
    assert err[-1].startswith(
        f"domxml-lint: wrote {out} from {URI}: capabilities (i686, 2 NUMA cells"
    )
    assert any(
        "domain capabilities for test/i686 skipped" in line and "not supported" in line
        for line in err
    )
    assert done.stdout == b""

    host = load_host(out)
    live_cells, live_sizes = _cells_of(live_xml)
    assert _model_cells(host) == live_cells
    assert list(host.page_sizes_kib) == live_sizes
    # What the brief says the test driver has; the 8 KiB pages of cell 1 come from the live data.
    assert sorted(live_cells) == [0, 1]
    assert [len(c["cpus"]) for c in live_cells.values()] == [8, 8]
    assert [c["memory_kib"] for c in live_cells.values()] == [2 * 1024 * 1024, 4 * 1024 * 1024]
    assert {4, 2048, 1048576} <= set(live_sizes)
    # The inner document is libvirt's text, unchanged.
    doc = Document.parse(out.read_bytes(), str(out))
    assert inner_documents(doc)[0] == live_xml.strip().encode()
    assert doc.root.get("version") == "2" and doc.root.get("uri") == URI
    assert not host.has_domain_capabilities and not host.has_node_devices
    # The versions libvirt reports for the connection, read independently.
    libvirt = require_libvirt()
    conn = libvirt.openReadOnly(URI)
    try:
        number, hypervisor, hv_number = conn.getLibVersion(), conn.getType(), conn.getVersion()
        hostname = conn.getHostname()
    finally:
        conn.close()
    dotted = f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"
    assert host.libvirt_version == dotted and host.libvirt.uri == URI
    assert host.libvirt.hypervisor == hypervisor == "TEST"
    assert host.libvirt.hypervisor_version == (
        f"{hv_number // 1000000}.{hv_number // 1000 % 1000}.{hv_number % 1000}"
    )
    assert host.libvirt.hostname == hostname
    assert host.qemu_version is None  # the test driver's hypervisor is not QEMU
    # test:///default is local: the system facts of this machine are in, and named so.
    assert host.system is not None and host.system.hostname == socket.gethostname()
    assert f", system facts of {socket.gethostname()} (Linux " in err[-1]


def test_snapshot_to_standard_output():
    require_libvirt()
    done = run_cli("host", "snapshot", "--connect", URI)
    assert done.returncode == 0, done.stderr
    doc = Document.parse(done.stdout, "<stdout>")
    assert doc.root.tag == "domxml-lint-host-snapshot"
    assert "wrote standard output" in done.stderr.decode()


def test_snapshot_through_virsh_gives_the_same_host(tmp_path):
    require_libvirt()
    require_virsh()
    by_python, by_virsh = tmp_path / "python.xml", tmp_path / "virsh.xml"
    assert run_cli("host", "snapshot", "--connect", URI, "-o", str(by_python)).returncode == 0
    done = run_cli("host", "snapshot", "--connect", URI, "--via", "virsh", "-o", str(by_virsh))
    assert done.returncode == 0, done.stderr
    assert load_host(by_virsh).capabilities == load_host(by_python).capabilities
    # `virsh version` and `virsh hostname` give what the API calls give.
    assert load_host(by_virsh).libvirt == load_host(by_python).libvirt
    assert load_host(by_virsh).libvirt.hypervisor_version is not None
    assert load_host(by_virsh).node_devices == load_host(by_python).node_devices == {}
    # virsh 9.0 cannot list the test driver's node devices: a note says so, in one line.
    notes = [
        line for line in done.stderr.decode().splitlines() if "PCI node devices skipped" in line
    ]
    assert len(notes) <= 1


@pytest.mark.parametrize("via", ["libvirt-python", "virsh"])
@pytest.mark.parametrize(
    "uri,start",
    [
        ("test:///nonexistent/path.xml", "cannot connect to test:///nonexistent/path.xml: "),
        ("bogus:///nowhere", "cannot connect to bogus:///nowhere: "),
        ("auth", "permission denied on test://"),
    ],
)
def test_connection_errors_are_one_line_and_exit_2(tmp_path, corpus, via, uri, start):
    require_libvirt() if via == "libvirt-python" else require_virsh()
    if uri == "auth":
        # The test driver asks for a username and password when the node file says so.
        node = tmp_path / "auth-node.xml"
        node.write_bytes((corpus / "testdriver" / "virsh-auth.xml").read_bytes())
        uri = f"test://{node}"
    done = run_cli(
        "host", "snapshot", "--connect", uri, "--via", via, "-o", str(tmp_path / "h.xml")
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.count("\n") == 1, err
    assert err.startswith(f"domxml-lint: error: {start}"), err
    assert "I/O warning" not in err and "libvirt:" not in err and "Traceback" not in err
    assert not (tmp_path / "h.xml").exists()


def _environment_without_libvirt(tmp_path):
    """A real Python with domxml-lint and its dependencies but no libvirt-python and no virsh."""
    import attr
    import attrs
    import lxml
    import pluggy

    site = tmp_path / "site"
    site.mkdir()
    for module in (attr, attrs, lxml, pluggy):
        source = os.path.dirname(module.__file__)
        (site / os.path.basename(source)).symlink_to(source)
    (site / "domxml_lint").symlink_to(REPO / "src" / "domxml_lint")
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {"PYTHONPATH": str(site), "PATH": str(empty_bin), "LC_ALL": "C"}
    check = run_python(env, "-c", "import libvirt")
    assert check.returncode == 1 and b"No module named 'libvirt'" in check.stderr
    return env


def run_python(env, *args):
    import subprocess

    return subprocess.run([sys.executable, "-S", *args], env=env, capture_output=True, timeout=120)


def test_without_libvirt_python_and_virsh_one_line_says_how_to_install_either(tmp_path):
    env = _environment_without_libvirt(tmp_path)
    for command in (["host", "snapshot"], ["--connect", URI, "--all-domains"]):
        done = run_python(env, "-m", "domxml_lint", *command)
        assert done.returncode == 2
        err = done.stderr.decode()
        assert err.count("\n") == 1, err
        assert "needs libvirt-python or virsh, and neither is installed" in err
        assert (
            "pip install 'domxml-lint[libvirt]'" in err and "apt-get install libvirt-clients" in err
        )
    done = run_python(env, "-m", "domxml_lint", "host", "snapshot", "--via", "libvirt-python")
    assert done.returncode == 2 and "libvirt-python is not installed" in done.stderr.decode()
    # Linting files needs neither, and neither do this machine's system facts.
    clean = REPO / "fixtures" / "xml" / "rules" / "disk-cache-unsafe" / "clean.xml"
    assert run_python(env, "-m", "domxml_lint", str(clean)).returncode == 0
    facts = run_python(env, "-m", "domxml_lint", "host", "facts")
    assert facts.returncode == 0, facts.stderr.decode()
    assert b"<system hostname=" in facts.stdout


def test_the_committed_test_driver_snapshot_matches_this_libvirt():
    # fixtures/xml/hosts/test-default.xml was captured with `host snapshot`; if libvirt's
    # test driver changes, capture it again (see fixtures/xml/hosts/README.md).
    live_cells, live_sizes = _cells_of(_live_capabilities())
    committed = load_host(HOSTS / "test-default.xml")
    assert _model_cells(committed) == live_cells
    assert list(committed.page_sizes_kib) == live_sizes
