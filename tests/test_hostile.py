"""Bad and hostile input, each through the real CLI in a child process.

Every bad file is run beside a good one that needs a safe fix: the bad file
gets exactly one error line (file, line where there is one, and in
parentheses what to do), exit code 2, and is left byte-identical, while the
good file is still reported and fixed.

Entity, DTD and XInclude attacks are measured per child with ``wait4``: under
a second of CPU and 100 MB of peak RSS. "Reads no file" is proven with a
FIFO: opening it for reading would release a writer thread, so the test sees
any open. "Reaches no URL" is proven with a listening local socket that must
have no connection queued. The referenced file's content never appears.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import shutil
import socket
import stat
import threading
from pathlib import Path

import pytest

import domxml_lint
from domxml_lint.document import MAX_ELEMENTS, MAX_FILE_BYTES
from helpers import RULE_FIXTURES
from processes import IS_ROOT, Measured, run_cli_measured, unprivileged
from samples import OS_Q35, domain

GOOD_SOURCE = RULE_FIXTURES / "io-native-needs-direct-cache" / "trigger-tabs.xml"
SECRET = "TOP-SECRET-7f3a9c-CONTENT"


# -- helpers -------------------------------------------------------------------------------


def good_file(directory: Path) -> tuple[Path, bytes]:
    """A domain with a safe fix, and the bytes --fix must leave in it."""
    target = directory / "good.xml"
    shutil.copy(GOOD_SOURCE, target)
    expected = domxml_lint.fix(target.read_bytes()).data
    assert expected != target.read_bytes()
    return target, expected


ERROR_LINE = re.compile(
    r"domxml-lint: error: (?P<where>.+?): (?P<message>.+) \((?P<hint>[^()]+(?:\([^()]*\)[^()]*)*)\)"
)


def the_error_for(result: Measured, path: Path | str, line: int | None = "any") -> tuple[str, str]:
    """The single stderr line about ``path``: returns (message, what to do)."""
    name = str(path)
    mine = [text for text in result.error_lines if name in text]
    assert len(mine) == 1, result.stderr.decode(errors="replace")
    match = ERROR_LINE.fullmatch(mine[0])
    assert match, mine[0]
    where = match["where"]
    assert where.startswith(name)
    position = where[len(name) :]
    if line is None:
        assert position == "", mine[0]
    elif line != "any":
        assert re.fullmatch(rf":{line}(:\d+)?", position), mine[0]
    assert match["hint"].strip(), "an error must say what to do"
    return match["message"], match["hint"]


def assert_batch_went_on(result: Measured, good: Path, fixed: bytes | None) -> None:
    """The good file beside the bad one was still linted (and fixed, with --fix)."""
    if fixed is None:
        assert f"{good}:".encode() in result.stdout, result.stdout
    else:
        assert good.read_bytes() == fixed


def run_beside_good(tmp_path: Path, name: str, data: bytes, *extra: str, **kwargs):
    directory = tmp_path / "run"
    directory.mkdir()
    bad = directory / name
    bad.write_bytes(data)
    good, fixed = good_file(directory)
    result = run_cli_measured("--fix", *extra, str(bad), str(good), **kwargs)
    assert bad.read_bytes() == data, "a refused file must not be touched"
    assert_batch_went_on(result, good, fixed)
    assert b"Traceback" not in result.output and b"internal error" not in result.output
    return result, bad


# -- malformed XML ---------------------------------------------------------------------------

LIBVIRT_STYLE = GOOD_SOURCE.read_bytes()

MALFORMED = {
    "truncated": (LIBVIRT_STYLE[: LIBVIRT_STYLE.index(b"<devices>") + 20], None, "not well-formed"),
    "mismatched-tags": (b"<domain type='kvm'>\n  <name>x</nam>\n</domain>\n", 2, "mismatch"),
    "empty": (b"", 1, "Document is empty"),
    "only-whitespace": (b"\n\n   \n", 4, "not well-formed"),
    "binary-with-nul": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        3,
        "binary data",
    ),
    "binary-without-nul": (bytes(range(1, 256)) * 8, 1, "not well-formed"),
    "plain-text": (b"name: web-01\nvcpus: 4\n", 1, "not well-formed"),
    "undefined-entity": (
        b"<domain type='kvm'>\n<name>&xxe;</name></domain>",
        2,
        "Entity 'xxe' not defined",
    ),
    "unclosed-cdata": (b"<domain><name><![CDATA[abc</name></domain>", 1, "CData"),
    "duplicate-attribute": (b"<domain type='kvm' type='qemu'/>", 1, "redefined"),
    "unbound-prefix": (b"<domain>\n<qemu:commandline/>\n</domain>", 2, "Namespace prefix"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_xml(tmp_path, case):
    data, line, fragment = MALFORMED[case]
    if line is None:  # the truncated file ends on its last line
        line = data.count(b"\n") + 1
    result, bad = run_beside_good(tmp_path, f"{case}.xml", data)
    assert result.returncode == 2
    message, _hint = the_error_for(result, bad, line)
    assert fragment in message


# -- DOCTYPE, entities, external DTDs, XInclude ------------------------------------------------


class Tripwires:
    """A secret file, a FIFO that notices being opened, and a socket that notices a connection."""

    def __init__(self, directory: Path) -> None:
        self.secret = directory / "secret.txt"
        self.secret.write_text(SECRET)
        self.fifo = directory / "secret.fifo"
        os.mkfifo(self.fifo)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/evil.dtd"
        self._released = threading.Event()
        self.fifo_opened_by_child = False
        self._watcher = threading.Thread(target=self._watch_fifo, daemon=True)
        self._watcher.start()

    def _watch_fifo(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)  # blocks until someone opens it for reading
        if not self._released.is_set():
            self.fifo_opened_by_child = True
            os.write(fd, f'<!ENTITY leak "{SECRET}">{SECRET}'.encode())
        os.close(fd)

    def check_and_close(self) -> None:
        readable, _, _ = select.select([self.server], [], [], 0)
        self.connected = bool(readable)
        self.server.close()
        self._released.set()
        release = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        self._watcher.join(5)
        os.close(release)
        assert not self.fifo_opened_by_child, "the FIFO was opened: a file was read"
        assert not self.connected, "a connection reached the local server: a URL was fetched"


def _laughs() -> str:
    lines = ['<!ENTITY lol "lol">']
    for level in range(2, 10):
        ref = f"&lol{level - 1 if level > 2 else ''};"
        lines.append(f'<!ENTITY lol{level} "{ref * 10}">')
    return "\n ".join(lines)


def hostile_documents(wires: Tripwires) -> dict[str, tuple[str, int, str]]:
    """name -> (document text, line of the offending construct, word in the message)."""
    head = '<?xml version="1.0"?>\n'
    body = "<domain type='kvm'>\n  <name>&x;</name>\n</domain>\n"
    big = "x" * 100_000
    return {
        "doctype-only": (
            head + "<!DOCTYPE domain>\n<domain type='kvm'><name>a</name></domain>",
            2,
            "DOCTYPE",
        ),
        "internal-entity": (
            head + '<!DOCTYPE domain [<!ENTITY x "injected">]>\n' + body,
            2,
            "DOCTYPE",
        ),
        "external-entity-file": (
            head + f'<!DOCTYPE domain [<!ENTITY x SYSTEM "file://{wires.secret}">]>\n' + body,
            2,
            "DOCTYPE",
        ),
        "external-entity-fifo": (
            head + f'<!DOCTYPE domain [<!ENTITY x SYSTEM "{wires.fifo}">]>\n' + body,
            2,
            "DOCTYPE",
        ),
        "external-entity-url": (
            head + f'<!DOCTYPE domain [<!ENTITY x SYSTEM "{wires.url}">]>\n' + body,
            2,
            "DOCTYPE",
        ),
        "parameter-entity": (
            head
            + f'<!DOCTYPE domain [\n<!ENTITY % p SYSTEM "file://{wires.fifo}">\n%p;\n]>\n'
            + body,
            2,
            "DOCTYPE",
        ),
        "billion-laughs": (
            head + f"<!DOCTYPE domain [\n {_laughs()}\n]>\n<domain><name>&lol9;</name></domain>",
            2,
            "DOCTYPE",
        ),
        "quadratic-blowup": (
            head
            + f'<!DOCTYPE domain [<!ENTITY a "{big}">]>\n<domain><name>'
            + "&a;" * 20_000
            + "</name></domain>",
            2,
            "DOCTYPE",
        ),
        "external-dtd-fifo": (
            head + f'<!DOCTYPE domain SYSTEM "{wires.fifo}">\n<domain><name>&leak;</name></domain>',
            2,
            "DOCTYPE",
        ),
        "external-dtd-url": (
            head + f'<!DOCTYPE domain SYSTEM "{wires.url}">\n<domain><name>&leak;</name></domain>',
            2,
            "DOCTYPE",
        ),
        "public-dtd-url": (
            head + f'<!DOCTYPE domain PUBLIC "-//EVIL//DTD X//EN" "{wires.url}">\n<domain/>',
            2,
            "DOCTYPE",
        ),
        "doctype-after-blank-lines": (
            "\n" * 40 + f'<!DOCTYPE domain SYSTEM "{wires.fifo}">\n<domain/>',
            41,
            "DOCTYPE",
        ),
        "xinclude-file": (
            "<domain type='kvm' xmlns:xi='http://www.w3.org/2001/XInclude'>\n  <name>a</name>\n"
            f"  <xi:include href='{wires.secret}' parse='text'/>\n</domain>",
            3,
            "XInclude",
        ),
        "xinclude-fifo": (
            "<domain type='kvm'>\n  <devices>\n    <inc:include xmlns:inc='http://www.w3.org/2001/XInclude'"
            f" href='{wires.fifo}'/>\n  </devices>\n</domain>",
            3,
            "XInclude",
        ),
        "xinclude-url": (
            "<domain type='kvm' xmlns:xi='http://www.w3.org/2001/XInclude'>\n"
            f"<xi:include href='{wires.url}'/>\n</domain>",
            2,
            "XInclude",
        ),
        "xinclude-2003": (
            "<domain type='kvm' xmlns:xi='http://www.w3.org/2003/XInclude'>\n<name>a</name>\n"
            f"<xi:include href='{wires.secret}' parse='text'/>\n</domain>",
            3,
            "XInclude",
        ),
    }


HOSTILE_NAMES = [
    "doctype-only",
    "internal-entity",
    "external-entity-file",
    "external-entity-fifo",
    "external-entity-url",
    "parameter-entity",
    "billion-laughs",
    "quadratic-blowup",
    "external-dtd-fifo",
    "external-dtd-url",
    "public-dtd-url",
    "doctype-after-blank-lines",
    "xinclude-file",
    "xinclude-fifo",
    "xinclude-url",
    "xinclude-2003",
]


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_hostile_xml_is_refused_fast_small_and_blind(tmp_path, case):
    wires = Tripwires(tmp_path)
    try:
        text, line, word = hostile_documents(wires)[case]
        data = text.encode()
        # Linting, measured: the whole child process, interpreter start included.
        result, bad = run_beside_good(tmp_path, "vm.xml", data, "--select", "ALL", timeout=30)
        assert result.returncode == 2
        assert result.cpu_seconds < 1.0, f"{result.cpu_seconds:.2f} s of CPU"
        assert result.max_rss_bytes < 100 * 1024 * 1024, f"{result.max_rss_bytes >> 20} MiB"
        message, hint = the_error_for(result, bad, line)
        assert word in message and "nothing was read" in hint
        assert SECRET.encode() not in result.output
        # Fixing unsafely with JSON output: still refused, still blind.
        again = run_cli_measured(
            "--fix", "--unsafe-fixes", "--output-format", "json", str(bad), timeout=30
        )
        assert again.returncode == 2 and SECRET.encode() not in again.output
        assert bad.read_bytes() == data
    finally:
        wires.check_and_close()
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in (tmp_path / "run").iterdir())


def test_tripwires_do_fire(tmp_path):
    """The tripwires are not vacuous: an unsafe parser trips the FIFO, a client the socket."""
    from lxml import etree

    wires = Tripwires(tmp_path)
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
    try:
        etree.fromstring(f'<!DOCTYPE d SYSTEM "{wires.fifo}"><d>&leak;</d>'.encode(), unsafe)
    except etree.XMLSyntaxError:
        pass  # what it read need not parse; that it opened the FIFO is the point
    client = socket.create_connection(wires.server.getsockname())
    with pytest.raises(AssertionError):
        wires.check_and_close()
    client.close()
    assert wires.fifo_opened_by_child and wires.connected


def test_non_domain_with_billion_laughs_is_skipped_without_expanding(tmp_path):
    # Not a domain, so skipped silently; the sniff stops at the root start tag.
    data = f"<!DOCTYPE network [\n {_laughs()}\n]>\n<network>&lol9;</network>".encode()
    (tmp_path / "net.xml").write_bytes(data)
    result = run_cli_measured("--fix", str(tmp_path / "net.xml"), timeout=30)
    assert result.returncode == 0 and result.stderr == b""
    assert result.cpu_seconds < 1.0 and result.max_rss_bytes < 100 * 1024 * 1024


# -- encodings --------------------------------------------------------------------------------

DOMAIN_TEXT = "<domain type='kvm'>\n  <name>caf\u00e9</name>\n  <vcpu>1</vcpu>\n</domain>\n"

ENCODINGS = {
    "utf16-le-bom": (
        codecs.BOM_UTF16_LE + DOMAIN_TEXT.encode("utf-16-le"),
        1,
        "UTF-16",
        "iconv -f UTF-16",
    ),
    "utf16-be-bom": (
        codecs.BOM_UTF16_BE + DOMAIN_TEXT.encode("utf-16-be"),
        1,
        "UTF-16",
        "iconv -f UTF-16",
    ),
    "utf16-no-bom": (
        ("<?xml version='1.0' encoding='UTF-16'?>\n" + DOMAIN_TEXT).encode("utf-16-le"),
        1,
        "UTF-16",
        "iconv",
    ),
    "utf32-bom": (DOMAIN_TEXT.encode("utf-32"), 1, "UTF-32", "iconv -f UTF-32"),
    "declares-utf16-is-utf8": (
        ("<?xml version='1.0' encoding='UTF-16'?>\n" + DOMAIN_TEXT).encode(),
        1,
        "declares encoding 'UTF-16'",
        "encoding='UTF-8'",
    ),
    "declares-utf8-is-latin1": (
        ("<?xml version='1.0' encoding='UTF-8'?>\n" + DOMAIN_TEXT).encode("latin-1"),
        3,
        "Invalid bytes",
        "UTF-8",
    ),
    "undeclared-latin1": (DOMAIN_TEXT.encode("latin-1"), 2, "Invalid bytes", "UTF-8"),
    "invalid-utf8-sequence": (
        b"<domain type='kvm'>\n\n<name>a\xff\xfeb</name></domain>",
        3,
        "Invalid bytes",
        "UTF-8",
    ),
    "overlong-utf8": (
        b"<domain type='kvm'>\n<name>\xc0\xaf</name></domain>",
        2,
        "Invalid bytes",
        "UTF-8",
    ),
    "utf8-surrogate": (
        b"<domain type='kvm'>\n<name>\xed\xa0\x80</name></domain>",
        2,
        "Invalid bytes",
        "UTF-8",
    ),
    "unknown-encoding": (
        b"<?xml version='1.0' encoding='x-klingon'?>\n<domain/>",
        1,
        "x-klingon",
        "UTF-8",
    ),
    "euc-jp": (
        (
            "<?xml version='1.0' encoding='EUC-JP'?>\n" + DOMAIN_TEXT.replace("caf\u00e9", "\u6f22")
        ).encode("euc-jp"),
        1,
        "not supported",
        "iconv -f EUC-JP",
    ),
}


@pytest.mark.parametrize("case", sorted(ENCODINGS))
def test_encodings(tmp_path, case):
    data, line, fragment, advice = ENCODINGS[case]
    result, bad = run_beside_good(tmp_path, f"{case}.xml", data)
    assert result.returncode == 2
    message, hint = the_error_for(result, bad, line)
    assert fragment in message and advice in hint


def test_mislabelled_latin1_declaration_keeps_every_other_byte(tmp_path):
    # Declared ISO-8859-1 but written in UTF-8: libxml2 reads mojibake, which is not an
    # error; a fix must still only touch its own bytes and keep the UTF-8 ones as they were.
    data = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n<domain type='kvm'>\n"
        "  <name>caf\u00e9-\u00fc</name>\n"
        "  <devices>\n    <disk type='file'>\n      <driver name='qemu' io='native'/>\n"
        "      <target dev='vda'/>\n    </disk>\n  </devices>\n</domain>\n"
    ).encode("utf-8")
    target = tmp_path / "vm.xml"
    target.write_bytes(data)
    result = run_cli_measured("--fix", "--select", "DX404", str(target))
    assert result.returncode == 0, result.output
    fixed = target.read_bytes()
    assert fixed == data.replace(b"io='native'/>", b"io='native' cache='none'/>")


# -- very large inputs -----------------------------------------------------------------------

MiB = 1024 * 1024


def _big(body: str, vcpus: int = 2) -> str:
    return domain(
        body, name="big", memory="<memory unit='KiB'>1048576</memory>",
        vcpu=f"<vcpu placement='static'>{vcpus}</vcpu>", os=OS_Q35,
    )  # fmt: skip


def test_4096_vcpus_with_pins_is_handled(tmp_path):
    pins = "".join(f"    <vcpupin vcpu='{i}' cpuset='{i},{i + 4096}'/>\n" for i in range(4096))
    text = _big(f"  <cputune>\n{pins}    <emulatorpin cpuset='8192-8199'/>\n  </cputune>", 4096)
    data = text.encode()
    target = tmp_path / "vcpus.xml"
    target.write_bytes(data)
    for args in (["--select", "ALL"], ["--fix", "--unsafe-fixes", "--select", "ALL"]):
        result = run_cli_measured(*args, str(target), timeout=120)
        assert result.returncode in (0, 1), result.output
        assert b"error" not in result.stderr
        # generous hang guards (measured: about 0.3 s and 40 MB)
        assert result.cpu_seconds < 30 and result.max_rss_bytes < 400 * MiB


def test_1000_disks_are_handled_and_fixed(tmp_path):
    disks = "".join(
        "    <disk type='file' device='disk'>\n"
        "      <driver name='qemu' type='raw' io='native'/>\n"
        f"      <source file='/var/lib/libvirt/images/d{i}.img'/>\n"
        f"      <target dev='vd{i}' bus='virtio'/>\n"
        "    </disk>\n"
        for i in range(1000)
    )
    data = _big(f"  <devices>\n{disks}  </devices>\n").encode()
    target = tmp_path / "disks.xml"
    target.write_bytes(data)
    result = run_cli_measured("--fix", "--select", "ALL", str(target), timeout=120)
    assert result.returncode in (0, 1), result.output
    assert result.cpu_seconds < 30 and result.max_rss_bytes < 400 * MiB
    fixed = target.read_bytes()
    assert fixed.count(b"cache='none'") == 1000
    again = run_cli_measured("--fix", "--select", "ALL", str(target), timeout=120)
    assert again.returncode in (0, 1) and target.read_bytes() == fixed


def test_50_mb_file_is_refused_without_reading_it_all(tmp_path):
    target = tmp_path / "huge.xml"
    with open(target, "wb") as handle:
        handle.write(b"<domain type='kvm'>\n<name>x</name>\n<!--")
        handle.write(b"x" * (50 * MiB))
        handle.write(b"-->\n</domain>\n")
    result, bad = run_beside_good(tmp_path, "huge.xml", target.read_bytes(), timeout=60)
    assert result.returncode == 2
    message, _ = the_error_for(result, bad, None)
    assert "10 MiB" in message
    # reading 50 MB would show in the peak RSS; at most the 10 MiB limit + 1 byte is read
    assert result.max_rss_bytes < 100 * MiB and result.cpu_seconds < 2


def test_too_many_elements_is_refused_at_the_limit(tmp_path):
    data = (
        b"<domain type='kvm'>\n<devices>\n"
        + b"<a/><a/><a/><a/>\n" * (MAX_ELEMENTS // 4 + 1)
        + b"</devices></domain>\n"
    )
    assert len(data) < MAX_FILE_BYTES
    result, bad = run_beside_good(tmp_path, "many.xml", data, timeout=60)
    assert result.returncode == 2
    # element MAX_ELEMENTS + 1 is the 99,999th <a/> (root and devices come first), 4 per line
    message, _ = the_error_for(result, bad, 2 + (MAX_ELEMENTS - 2) // 4 + 1)
    assert f"more than {MAX_ELEMENTS:,} elements" in message
    assert result.max_rss_bytes < 100 * MiB


def test_deep_nesting_is_refused(tmp_path):
    data = b"<domain>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</domain>"
    result, bad = run_beside_good(tmp_path, "deep.xml", data, timeout=30)
    assert result.returncode == 2
    message, _ = the_error_for(result, bad, 1)
    assert "exceeds a parser limit" in message and "256" in message


HANG_CASES = {
    # A 10 MiB single line with a finding per element: columns and paths were quadratic.
    "one-line-many-findings": lambda: (
        "<domain type='kvm'><name>x\u00e9</name><vcpu>1</vcpu><cputune>"
        + "<vcpupin vcpu='0' cpuset='x'/>" * (MAX_ELEMENTS - 10)
        + "</cputune></domain>"
    ),
    # Thousands of suppressions each matched against every finding.
    "many-suppressions": lambda: (
        "<domain type='kvm'><name>x</name><vcpu>1</vcpu><cputune>\n"
        + "<!-- domxml-lint: disable=DX105 --><vcpupin vcpu='0' cpuset='x'/>\n" * 20_000
        + "</cputune></domain>"
    ),
    # A million-field cpuset of full ranges.
    "huge-cpuset": lambda: (
        "<domain type='kvm'><name>x</name><vcpu cpuset='"
        + ",".join(["0-16383"] * 1_000_000)
        + "'>1</vcpu></domain>"
    ),
    # Numbers far past any integer libvirt reads.
    "huge-numbers": lambda: (
        "<domain type='kvm'><name>x</name><memory>" + "9" * 100_000 + "</memory>"
        "<vcpu current='" + "9" * 100_000 + "'>" + "9" * 100_000 + "</vcpu><cputune>"
        "<vcpupin vcpu='" + "1" * 100_000 + "' cpuset='" + "1" * 100_000 + "'/></cputune></domain>"
    ),
    # Backtracking bait for the suppression directive regex.
    "long-suppression-comment": lambda: (
        "<domain type='kvm'><name>x</name><!-- domxml-lint: disable=DX401"
        + " " * 3_000_000
        + "x --><vcpu>1</vcpu></domain>"
    ),
    # A huge attribute value and a huge text node just under the file limit.
    "huge-attribute": lambda: (
        "<domain type='kvm'><name>x</name><vcpu cpuset='" + "1," * 4_000_000 + "'>1</vcpu></domain>"
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HANG_CASES))
def test_pathological_but_valid_inputs_do_not_hang(tmp_path, case):
    data = HANG_CASES[case]().encode()
    assert len(data) <= MAX_FILE_BYTES
    target = tmp_path / "p.xml"
    target.write_bytes(data)
    result = run_cli_measured(
        "--fix", "--unsafe-fixes", "--select", "ALL", str(target), timeout=180
    )
    assert result.returncode in (0, 1), result.stderr[:2000]
    assert b"Traceback" not in result.output
    # Hang guards ten times above what was measured (about 2.5 s and 200 MB at worst).
    assert result.cpu_seconds < 30, f"{result.cpu_seconds:.1f} s"
    assert result.max_rss_bytes < 600 * MiB, f"{result.max_rss_bytes >> 20} MiB"


@pytest.mark.parametrize(
    "prefix", [b" " * 100_000, b"\n" * 100_000, b"<!---->" * 100_000, b"<?p?>" * 100_000]
)
def test_prolog_backtracking_bait_is_fast(tmp_path, prefix):
    # sniff_root_name's regex used to backtrack exponentially before a DOCTYPE or text.
    for tail in (
        b"not xml",
        b"<!DOCTYPE network><network/>",
        b"<domain type='kvm'><name>x</name><memory>1048576</memory></domain>",
    ):
        target = tmp_path / "bait.xml"
        target.write_bytes(prefix + tail)
        result = run_cli_measured(str(target), timeout=30)
        assert result.cpu_seconds < 2, f"{result.cpu_seconds:.1f} s"
        assert result.returncode in (0, 2)


# -- not a domain: skipped silently ----------------------------------------------------------

NOT_DOMAINS = {
    "network.xml": b"<network>\n  <name>default</name>\n  <forward mode='nat'/>\n</network>\n",
    "pool.xml": (
        b"<pool type='dir'>\n  <name>default</name>\n"
        b"  <target><path>/var/lib/libvirt/images</path></target>\n</pool>\n"
    ),
    "pom.xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        b"  <modelVersion>4.0.0</modelVersion>\n</project>\n"
    ),
    "capabilities.xml": b"<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>",
    "web.xml": (
        b'<?xml version="1.0"?>\n<!DOCTYPE web-app PUBLIC '
        b'"-//Sun Microsystems, Inc.//DTD Web Application 2.3//EN"'
        b' "http://java.sun.com/dtd/web-app_2_3.dtd">\n<web-app/>\n'
    ),
    "broken-network.xml": b"<network><name>x</name>",
    "utf16-network.xml": codecs.BOM_UTF16_LE
    + "<network><name>n</name></network>".encode("utf-16-le"),
}


def test_non_domain_xml_is_skipped_silently_even_with_fix(tmp_path):
    for name, data in NOT_DOMAINS.items():
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, ns=(1_000_000_000, 1_000_000_000))
    for args in ([], ["--fix", "--unsafe-fixes", "--select", "ALL"]):
        result = run_cli_measured(*args, str(tmp_path))
        assert result.returncode == 0, result.output
        assert result.stderr == b""
    for name, data in NOT_DOMAINS.items():
        assert (tmp_path / name).read_bytes() == data
        assert (tmp_path / name).stat().st_mtime_ns == 1_000_000_000


# -- paths -----------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    good, fixed = good_file(tmp_path)
    result = run_cli_measured("--fix", str(tmp_path / "nope.xml"), str(good))
    assert result.returncode == 2
    message, hint = the_error_for(result, tmp_path / "nope.xml", None)
    assert "no such file" in message and "check the path" in hint
    assert_batch_went_on(result, good, fixed)


def test_directory_without_xml_warns_and_goes_on(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "README.md").write_text("no xml here")
    alone = run_cli_measured(str(empty))
    assert alone.returncode == 0 and alone.stdout == b""
    assert alone.error_lines == [
        f"domxml-lint: warning: no *.xml files under {empty} "
        "(pass domain XML files, or a directory "
        "that holds some)"
    ]
    good, fixed = good_file(tmp_path)
    both = run_cli_measured("--fix", str(empty), str(good))
    assert both.returncode == 0 and len(both.error_lines) == 1
    assert_batch_went_on(both, good, fixed)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make files another user owns")
def test_unreadable_file_and_directory(tmp_path):
    # Owned by someone else and closed to all: the CLI runs without the privileges to
    # bypass that (see processes.unprivileged), as an ordinary user would.
    secret = tmp_path / "secret.xml"
    shutil.copy(GOOD_SOURCE, secret)
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(GOOD_SOURCE, locked / "inside.xml")
    for path in (secret, locked):
        os.chown(path, 65534, 65534)
        path.chmod(0)
    readable = tmp_path / "readable.xml"
    shutil.copy(GOOD_SOURCE, readable)
    result = run_cli_measured(str(secret), str(tmp_path), preexec_fn=unprivileged())
    assert result.returncode == 2
    message, hint = the_error_for(result, secret, None)
    assert "permission denied" in message and "permissions" in hint
    message, hint = the_error_for(result, locked, None)
    assert "cannot search this directory" in message and "permissions" in hint
    assert f"{readable}:".encode() in result.stdout


def test_fifo_and_devices_are_not_read(tmp_path):
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)  # opening it for reading would block the run forever
    good, fixed = good_file(tmp_path)
    result = run_cli_measured("--fix", str(tmp_path), "/dev/zero", timeout=30)
    assert result.returncode == 2
    for path in (fifo, "/dev/zero"):
        message, _ = the_error_for(result, path, None)
        assert "not a regular file" in message
    assert_batch_went_on(result, good, fixed)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_symlink_loop_and_dangling_symlink(tmp_path):
    loop = tmp_path / "loop.xml"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.xml"
    dangling.symlink_to(tmp_path / "gone.xml")
    good, fixed = good_file(tmp_path)
    result = run_cli_measured("--fix", str(tmp_path), timeout=30)
    assert result.returncode == 2
    assert "symbolic links" in the_error_for(result, loop, None)[0]
    assert "no such file" in the_error_for(result, dangling, None)[0]
    assert_batch_went_on(result, good, fixed)
    assert loop.is_symlink() and dangling.is_symlink()


def test_file_names_with_control_characters_stay_on_one_line(tmp_path):
    # A repository can hold such names; the error must neither split nor drive the terminal.
    hostile = tmp_path / "evil\n\x1b[2Jname.xml"
    hostile.write_bytes(b"<domain>")
    result = run_cli_measured(str(hostile))
    assert result.returncode == 2
    assert result.error_lines == [
        f"domxml-lint: error: {tmp_path}/evil\\n\\x1b[2Jname.xml:1:9: not well-formed XML: "
        "Premature end of data in tag domain line 1 (fix the XML syntax; nothing was changed)"
    ]


def test_huge_invalid_cpuset_is_quoted_briefly(tmp_path):
    target = tmp_path / "vm.xml"
    cpuset = "1" * 100_000
    target.write_text(f"<domain type='kvm'><name>x</name><vcpu cpuset='{cpuset}'>1</vcpu></domain>")
    result = run_cli_measured(str(target))
    assert result.returncode == 1
    (line,) = [text for text in result.stdout.decode().splitlines() if "DX105" in text]
    assert len(line) < 400
