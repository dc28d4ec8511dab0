"""Side-by-side benchmark: domxml-lint against libvirt's schema check and the lxml floor.

Run from the repository root (with ../shared beside it)::

    python benchmarks/run.py                 # writes benchmarks/results/benchmarks.md
    python benchmarks/run.py --repeat 7 --plot

Every contender runs in the same session, on the same files, as one process
over all of them; each measurement is repeated and the median reported, and
targets are checked as ratios from the same run. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMXML_LINT_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus" / "libvirt" / "domain"
SCHEMA = SHARED / "corpus" / "libvirt" / "schemas" / "domain.rng"
TWO_NODE_HOST = REPO / "fixtures" / "xml" / "hosts" / "epyc-2node.xml"
TYPICAL = REPO / "fixtures" / "xml" / "examples" / "web-01.xml"
RESULTS = REPO / "benchmarks" / "results"

LXML_FLOOR = """
import sys, os
from lxml import etree
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
top = sys.argv[1]
for name in sorted(os.listdir(top)):
    if name.endswith(".xml"):
        with open(os.path.join(top, name), "rb") as handle:
            etree.fromstring(handle.read(), parser)
"""


# Children run as an installed tool would: with bytecode (pip compiles it on install).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# schema-invalid (DX002, default on) validates against the same schema files as xmllint,
# whatever libvirt this machine has.
CHILD_ENV["DOMXML_LINT_SCHEMA_DIR"] = str(SCHEMA.parent)


def run_measured(argv: list[str], *, ok=(0, 1)) -> tuple[float, int]:
    """Wall time and max RSS (KiB) of a child, via wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {code}: {err.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def median_of(argv: list[str], repeat: int, *, ok=(0, 1), prepare=None) -> tuple[float, int]:
    return medians({"one": (argv, ok, prepare)}, repeat)["one"]


def medians(
    contenders: dict[str, tuple[list[str], tuple[int, ...], object]], repeat: int
) -> dict[str, tuple[float, int]]:
    """Median wall time and max RSS of each contender, run in interleaved rounds.

    Each round runs every contender once, so a machine that speeds up or slows
    down during the run (shared hosts do) shifts all of them alike and the
    ratios stay fair; running one contender's repetitions back to back would not.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    rss: dict[str, list[int]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, (argv, ok, prepare) in contenders.items():
            if prepare is not None:
                prepare()
            elapsed, peak = run_measured(argv, ok=ok)
            times[name].append(elapsed)
            rss[name].append(peak)
    return {name: (statistics.median(times[name]), max(rss[name])) for name in contenders}


def domxml_lint(*args: str, jobs: int = 1) -> list[str]:
    """One process unless ``jobs`` says otherwise; no config file, so runs are comparable."""
    return [sys.executable, "-m", "domxml_lint", "--no-config", "--jobs", str(jobs), *args]


# -- synthetic domains for scaling ----------------------------------------------------------


def synthetic_devices(count: int) -> str:
    def dev(i: int) -> str:
        letters = ""
        n = i
        while True:
            letters = chr(97 + n % 26) + letters
            n = n // 26 - 1
            if n < 0:
                break
        return f"vd{letters}"

    disks = "\n".join(
        f"""    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='writeback'/>
      <source file='/var/lib/libvirt/images/d{i}.qcow2'/>
      <target dev='{dev(i)}' bus='virtio'/>
    </disk>"""
        for i in range(count)
    )
    nics = "\n".join(
        """    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='e1000'/>
    </interface>"""
        for _ in range(count)
    )
    return f"""<domain type='kvm'>
  <name>devices-{count}</name>
  <memory unit='GiB'>4</memory>
  <vcpu>4</vcpu>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
  <devices>
{disks}
{nics}
  </devices>
</domain>
"""


FIX_COUNTS = (1000, 5000, 10000)


def synthetic_fixes(count: int) -> str:
    """A domain with ``count`` disks, each with io='native' and no cache: one DX404 fix each."""
    disks = "".join(
        f"""    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' io='native'/>
      <source file='/var/lib/libvirt/images/f{i}.img'/>
      <target dev='vd{i}' bus='virtio'/>
    </disk>
"""
        for i in range(count)
    )
    return f"""<domain type='kvm'>
  <name>fixes-{count}</name>
  <memory unit='GiB'>4</memory>
  <vcpu>4</vcpu>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
  <devices>
{disks}  </devices>
</domain>
"""


def fix_scaling(repeat: int, work: Path) -> list[tuple[str, int, float, float]]:
    """(mode, fixes, median s, µs per fix) for --fix and --diff on one file with N fixes.

    Each command runs in interleaved rounds with a one-fix file, whose time (start-up,
    one tiny file) is taken off before dividing by the number of fixes.
    """
    contenders: dict[str, tuple[list[str], tuple[int, ...], object]] = {}
    pristine: dict[Path, str] = {}
    for count in (1, *FIX_COUNTS):
        source = work / f"fixes-{count}.xml"
        pristine[source] = synthetic_fixes(count)
        target = work / f"fixes-{count}-copy.xml"

        def restore(target: Path = target, text: str = pristine[source]) -> None:
            target.write_text(text)  # --fix rewrote it last round

        restore()
        select = ("--select", "DX404")
        contenders[f"--fix {count}"] = (domxml_lint("--fix", *select, str(target)), (0, 1), restore)
        contenders[f"--diff {count}"] = (
            domxml_lint("--diff", *select, str(target)),
            (0, 1),
            restore,
        )
    times = medians(contenders, repeat)
    rows = []
    for mode in ("--fix", "--diff"):
        base = times[f"{mode} 1"][0]
        for count in FIX_COUNTS:
            elapsed = times[f"{mode} {count}"][0]
            rows.append((mode, count, elapsed, (elapsed - base) / count * 1e6))
    return rows


# -- the language server: didChange -> publishDiagnostics ----------------------------------

#: Changes timed per guest (after a warm-up), and the pause between two, as a typist's.
LSP_CHANGES = 40
LSP_PAUSE = 0.15
LSP_GUESTS = (("typical guest (web-01.xml)", 50.0), ("1,000 devices (500 disks + 500 NICs)", 300.0))


class LspPipe:
    """``domxml-lint server`` on pipes, spoken to in plain JSON-RPC (no client library)."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "domxml_lint", "server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=CHILD_ENV,
        )
        self.ids = 0
        # Like `--no-config`: the benchmark's figures do not depend on config files around it.
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": {},
                "initializationOptions": {"configurationPreference": "editorOnly"},
            },
        )
        self.notify("initialized", {})

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict | None) -> dict:
        self.ids += 1
        self.send({"id": self.ids, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == self.ids and "method" not in m)

    def read(self) -> dict:
        stream = self.process.stdout
        assert stream is not None
        length = 0
        while True:
            line = stream.readline()
            if not line:
                raise SystemExit("domxml-lint server exited")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(stream.read(length))

    def wait(self, wanted) -> dict:
        while True:
            message = self.read()
            if "method" in message and "id" in message:  # a request to the editor: answer it
                self.send({"id": message["id"], "result": None})
            elif wanted(message):
                return message

    def diagnostics(self, uri: str, version: int) -> list:
        def published(message: dict) -> bool:
            params = message.get("params") or {}
            return (
                message.get("method") == "textDocument/publishDiagnostics"
                and params.get("uri") == uri
                and params.get("version") == version
            )

        return self.wait(published)["params"]["diagnostics"]

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait(timeout=30)


def lsp_latency(changes: int = LSP_CHANGES) -> list[tuple[str, int, int, float, float]]:
    """(guest, lines, diagnostics, median ms, 90th percentile ms) from sending a one-character
    didChange to receiving the publishDiagnostics of that version, as an editor sees it."""
    rows = []
    guests = (TYPICAL.read_text(), synthetic_devices(500))
    work = Path(tempfile.mkdtemp(prefix="domxml-lint-lsp-"))
    server = LspPipe(work)
    try:
        for (name, _target), text in zip(LSP_GUESTS, guests, strict=True):
            uri = (work / f"{len(text)}.xml").as_uri()
            server.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "xml", "version": 1, "text": text}},
            )
            found = server.diagnostics(uri, 1)
            # Type a space at the end of the first line, then delete it, and so on.
            end = len(text.splitlines()[0])
            times = []
            for version in range(2, changes + 7):
                typed = version % 2 == 0
                start = {"line": 0, "character": end}
                stop = {"line": 0, "character": end if typed else end + 1}
                change = {"range": {"start": start, "end": stop}, "text": " " if typed else ""}
                time.sleep(LSP_PAUSE)
                began = time.perf_counter()
                server.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [change],
                    },
                )
                server.diagnostics(uri, version)
                if version > 6:  # the first few warm up the server's caches
                    times.append(time.perf_counter() - began)
            times.sort()
            rows.append(
                (
                    name,
                    text.count("\n"),
                    len(found),
                    statistics.median(times) * 1000,
                    times[int(len(times) * 0.9) - 1] * 1000,
                )
            )
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def lsp_table(rows: list[tuple[str, int, int, float, float]]) -> list[str]:
    lines = [
        "",
        f"## Language server: didChange -> publishDiagnostics ({LSP_CHANGES} one-character "
        f"changes {LSP_PAUSE * 1000:.0f} ms apart, default rules, no host)",
        "",
        "| guest | lines | diagnostics | median ms | 90th percentile ms |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {g} | {n} | {d} | {m:.1f} | {p:.1f} |" for g, n, d, m, p in rows]
    return lines


def lsp_targets(rows: list[tuple[str, int, int, float, float]]) -> list[tuple[str, float, str]]:
    return [
        (f"LSP median ms, {name}", median, f"<= {target:g}")
        for (name, target), (_, _, _, median, _) in zip(LSP_GUESTS, rows, strict=True)
    ]


CEILING = "two independent domxml-lint, half the files each (ceiling)"


def two_independent_halves(files: list[str], work: Path) -> list[str]:
    """Two unrelated serial runs at once, each over every other file (links in two folders).

    Nothing is shared or sent between them, so this is what two processes can
    gain on this machine at best: the ceiling for ``--jobs 2``.
    """
    commands = []
    for half in (0, 1):
        folder = work / f"half-{half}"
        folder.mkdir()
        for path in files[half::2]:
            (folder / os.path.basename(path)).symlink_to(path)
        commands.append(shlex.join(domxml_lint(str(folder))))
    # Exit 0 only if both exited 0 or 1 (findings).
    return [
        "sh",
        "-c",
        f"{commands[0]} & {commands[1]}; b=$?; wait $!; [ $? -le 1 ] && [ $b -le 1 ]",
    ]


# -- issue 20's rows --------------------------------------------------------------------------

#: The sections of a full run; ``--rows`` picks some of them for a quick iteration.
SECTIONS = ("corpus", "fixes", "scaling", "rss", "lsp")

XMLLINT = "xmllint --noout --relaxng domain.rng"
DEFAULT = "domxml-lint (default rules, with DX002)"
NO_SCHEMA = "domxml-lint --ignore DX002"
HOST = "domxml-lint (default, two-node host)"
ALL = "domxml-lint --select ALL"
FIX = "domxml-lint --fix --unsafe-fixes --select ALL (fresh copy)"
JOBS2 = "domxml-lint --jobs 2"
IMPORT_LXML = "python -c 'import lxml.etree'"
ONE_FILE = "domxml-lint, one typical file"

#: Devices (half disks, half NICs) of the per-element scaling row: large over small.
SCALE_DEVICES = (100, 1_000, 5_000, 20_000)
#: The large-file RSS row: a domain of just under the 10 MiB limit.
LARGE_BYTES = 10 * 1024 * 1024 - 64 * 1024


def synthetic_large(target_bytes: int = LARGE_BYTES) -> str:
    """A domain of about ``target_bytes``: 10,000 disks and 10,000 NICs with long image
    paths (70,000 elements, under the 100,000-element limit)."""
    base = synthetic_devices(10_000)
    disks = 10_000
    pad = max(0, (target_bytes - len(base)) // disks)
    return base.replace("/var/lib/libvirt/images/d", f"/var/lib/libvirt/images/{'p' * pad}/d")


def corpus_rows(repeat: int, files: list[str], work: Path, xmllint: str) -> dict:
    """Every corpus contender and the cold start, in the same interleaved rounds."""
    copy = work / "corpus"

    def fresh_copy() -> None:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(CORPUS, copy, copy_function=shutil.copyfile)  # writable copies

    # Warm the page cache once so no contender pays for the first read.
    run_measured([xmllint, "--noout", "--relaxng", str(SCHEMA), *files], ok=(0, 3, 4))
    host_args = ["--host", str(TWO_NODE_HOST)] if TWO_NODE_HOST.exists() else []
    contenders: dict[str, tuple[list[str], tuple[int, ...], object]] = {
        XMLLINT: ([xmllint, "--noout", "--relaxng", str(SCHEMA), *files], (0, 3, 4), None),
        "lxml parse loop (floor)": ([sys.executable, "-c", LXML_FLOOR, str(CORPUS)], (0,), None),
        DEFAULT: (domxml_lint(str(CORPUS)), (0, 1), None),
        NO_SCHEMA: (domxml_lint("--ignore", "DX002", str(CORPUS)), (0, 1), None),
    }
    if host_args:
        contenders[HOST] = (domxml_lint(*host_args, str(CORPUS)), (0, 1), None)
    contenders[ALL] = (domxml_lint("--select", "ALL", str(CORPUS)), (0, 1), None)
    contenders[FIX] = (
        domxml_lint("--fix", "--unsafe-fixes", "--select", "ALL", str(copy)),
        (0, 1),
        fresh_copy,
    )
    contenders[JOBS2] = (domxml_lint(str(CORPUS), jobs=2), (0, 1), None)
    contenders[CEILING] = (two_independent_halves(files, work), (0,), None)
    contenders[IMPORT_LXML] = ([sys.executable, "-c", "import lxml.etree"], (0,), None)
    contenders[ONE_FILE] = (domxml_lint(str(TYPICAL)), (0, 1), None)
    return medians(contenders, repeat)


def element_scaling(repeat: int) -> list[tuple[int, int, float]]:
    """(devices, elements, seconds per element): parse + default rules + source map, in
    process, the sizes interleaved in each round."""
    from domxml_lint.api import build_linter
    from domxml_lint.document import Document

    linter = build_linter()
    data = {count: synthetic_devices(count // 2).encode() for count in SCALE_DEVICES}
    times: dict[int, list[float]] = {count: [] for count in SCALE_DEVICES}
    elements: dict[int, int] = {}
    for _ in range(repeat):
        for count in SCALE_DEVICES:
            # Small documents take microseconds: time enough of them to match the large one.
            loops = max(1, SCALE_DEVICES[-1] // count)
            start = time.perf_counter()
            for _ in range(loops):
                doc = Document.parse(data[count], f"devices-{count}.xml")
                linter.check(doc)
                _ = doc.spans  # the source map, as a run with findings builds it
            times[count].append((time.perf_counter() - start) / loops)
            elements[count] = len(doc.elements)
    return [(c, elements[c], statistics.median(times[c]) / elements[c]) for c in SCALE_DEVICES]


def large_rss(repeat: int, work: Path) -> tuple[int, float, int]:
    """(bytes, median s, peak RSS KiB) of a default-rules run on one ~10 MiB domain."""
    path = work / "large.xml"
    path.write_text(synthetic_large())
    elapsed, peak = medians({"large": (domxml_lint(str(path)), (0, 1), None)}, repeat)["large"]
    return path.stat().st_size, elapsed, peak


def meets(value: float, target: str) -> str:
    op, bound = target.split()
    ok = {"<=": value <= float(bound), ">=": value >= float(bound), "<": value < float(bound)}[op]
    return "yes" if ok else "**no**"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--plot", action="store_true", help="also write benchmarks.png (matplotlib)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "benchmarks.md")
    parser.add_argument(
        "--rows",
        default="corpus,fixes,scaling,rss",
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all but "
        "lsp); corpus = every corpus ratio, the --jobs 2 ceiling and the cold start",
    )
    parser.add_argument(
        "--only",
        choices=("fixes", "lsp"),
        help="run one section alone and write benchmarks/results/{fixes,lsp}.md",
    )
    args = parser.parse_args()
    if args.only == "fixes":
        return fixes_only(args)
    if args.only == "lsp":
        return lsp_only(args)
    sections = {name.strip() for name in args.rows.split(",") if name.strip()}
    if unknown := sections - set(SECTIONS):
        parser.error(f"unknown --rows {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    if not CORPUS.is_dir():
        raise SystemExit(f"corpus not found at {CORPUS}")
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        raise SystemExit("xmllint not found: apt-get install libxml2-utils")
    files = sorted(str(p) for p in CORPUS.glob("*.xml"))
    import compileall

    compileall.compile_dir(str(REPO / "src" / "domxml_lint"), quiet=1)
    repeat = args.repeat
    print(f"corpus: {len(files)} files, repeat {repeat}, rows {sorted(sections)}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="domxml-lint-bench-"))
    try:
        rows = corpus_rows(repeat, files, work, xmllint) if "corpus" in sections else {}
        fixes = fix_scaling(repeat, work) if "fixes" in sections else []
        scale = element_scaling(repeat) if "scaling" in sections else []
        large = large_rss(repeat, work) if "rss" in sections else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lsp = lsp_latency() if "lsp" in sections else []

    # (what, measured, target, command)
    targets: list[tuple[str, float, str, str]] = []
    if rows:
        xml_t = rows[XMLLINT][0]
        serial, jobs2, ceiling = rows[DEFAULT][0], rows[JOBS2][0], rows[CEILING][0]
        corpus_arg = "../shared/corpus/libvirt/domain"
        targets += [
            (
                "default lint --jobs 1, with DX002 / xmllint --relaxng",
                rows[DEFAULT][0] / xml_t,
                "<= 1.5",
                f"domxml-lint --no-config --jobs 1 {corpus_arg}",
            ),
            (
                "the same without DX002 / xmllint",
                rows[NO_SCHEMA][0] / xml_t,
                "<= 0.7",
                f"domxml-lint --no-config --jobs 1 --ignore DX002 {corpus_arg}",
            ),
            (
                "--fix --unsafe-fixes --select ALL on a copy / --select ALL lint",
                rows[FIX][0] / rows[ALL][0],
                "<= 2.0",
                "domxml-lint --no-config --jobs 1 --fix --unsafe-fixes --select ALL COPY",
            ),
            (
                "one-file cold start / python -c 'import lxml.etree'",
                rows[ONE_FILE][0] / rows[IMPORT_LXML][0],
                "<= 2.0",
                "domxml-lint --no-config --jobs 1 fixtures/xml/examples/web-01.xml",
            ),
            (
                f"--jobs 2 speedup ({serial / jobs2:.2f}) / ceiling ({serial / ceiling:.2f})",
                (serial / jobs2) / (serial / ceiling),
                ">= 0.95",
                f"domxml-lint --no-config --jobs 2 {corpus_arg}",
            ),
        ]
    if fixes:
        targets += [
            (*t, f"domxml-lint --no-config --jobs 1 {t[0].split()[0]} --select DX404 F")
            for t in fix_targets(fixes)
        ]
    if scale:
        (small, _, small_t), (big, _, big_t) = scale[0], scale[-1]
        targets.append(
            (
                f"per element, {big:,} devices / {small} devices",
                big_t / small_t,
                "<= 1.5",
                "in process: Document.parse + default rules + source map",
            )
        )
    if rows:
        targets.append(
            (
                "peak RSS of the corpus run (MB)",
                rows[DEFAULT][1] / 1024,
                "< 100",
                f"domxml-lint --no-config --jobs 1 {corpus_arg}",
            )
        )
    if large:
        targets.append(
            (
                f"peak RSS, a {large[0] / 1048576:.1f} MiB domain (MB)",
                large[2] / 1024,
                "< 200",
                "domxml-lint --no-config --jobs 1 large.xml",
            )
        )
    targets += [(*t, "domxml-lint server") for t in lsp_targets(lsp)] if lsp else []

    lines = [
        "# domxml-lint benchmarks",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {len(files)} corpus files; median of {repeat} "
        f"interleaved rounds; load average before the run: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "## Targets (issue 20)",
        "",
        "| what | measured | target | met | command |",
        "|---|---:|---|---|---|",
    ]
    lines += [f"| {w} | {v:.2f} | {t} | {meets(v, t)} | `{c}` |" for w, v, t, c in targets]
    if rows:
        xml_t = rows[XMLLINT][0]
        floor_t = rows["lxml parse loop (floor)"][0]
        lines += [
            "",
            "## Corpus and cold start, one process each, the same interleaved rounds",
            "",
            "| contender | median s | × xmllint | × lxml floor | max RSS MB |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, (t, rss) in rows.items():
            lines.append(
                f"| {name} | {t:.3f} | {t / xml_t:.2f} | {t / floor_t:.2f} | {rss / 1024:.1f} |"
            )
    if scale:
        lines += [
            "",
            "## Per element (in process, default rules, source map included)",
            "",
            "| devices | elements | µs per element |",
            "|---:|---:|---:|",
        ]
        lines += [f"| {c:,} | {e:,} | {t * 1e6:.2f} |" for c, e, t in scale]
    if fixes:
        lines += fix_table(fixes)
    if large:
        size, elapsed, peak = large
        lines += [
            "",
            "## A large domain",
            "",
            f"{size:,} bytes, 10,000 disks and 10,000 NICs: {elapsed:.3f} s, "
            f"peak RSS {peak / 1024:.1f} MB.",
        ]
    if lsp:
        lines += lsp_table(lsp)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.plot and rows and scale:
        plot(rows, scale, args.output.with_suffix(".png"))
    return 0


def fix_table(rows: list[tuple[str, int, float, float]]) -> list[str]:
    lines = [
        "",
        "## Many fixes in one file (one process each; a one-fix run's time taken off)",
        "",
        "| command | fixes | median s | µs per fix |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {mode} | {count} | {t:.3f} | {per:.1f} |" for mode, count, t, per in rows]
    return lines


def fix_targets(rows: list[tuple[str, int, float, float]]) -> list[tuple[str, float, str]]:
    per = {(mode, count): value for mode, count, _, value in rows}
    low, high = FIX_COUNTS[0], FIX_COUNTS[-1]
    return [
        (
            f"{mode} time per fix, {high} fixes / {low}",
            per[(mode, high)] / per[(mode, low)],
            "<= 1.5",
        )
        for mode in ("--fix", "--diff")
    ]


def fixes_only(args: argparse.Namespace) -> int:
    import compileall

    compileall.compile_dir(str(REPO / "src" / "domxml_lint"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="domxml-lint-bench-"))
    try:
        rows = fix_scaling(args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "# domxml-lint benchmarks: many fixes in one file",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; median of {args.repeat} interleaved rounds.",
        *fix_table(rows),
        "",
        "| what | measured | target |",
        "|---|---:|---|",
    ]
    lines += [f"| {w} | {v:.2f} | {t} |" for w, v, t in fix_targets(rows)]
    text = "\n".join(lines) + "\n"
    output = (
        args.output.with_name("fixes.md")
        if args.output == RESULTS / "benchmarks.md"
        else args.output
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    return 0


def lsp_only(args: argparse.Namespace) -> int:
    import compileall

    compileall.compile_dir(str(REPO / "src" / "domxml_lint"), quiet=1)
    rows = lsp_latency()
    lines = [
        "# domxml-lint benchmarks: the language server",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}.",
        *lsp_table(rows),
        "",
        "| what | measured | target |",
        "|---|---:|---|",
    ]
    lines += [f"| {w} | {v:.1f} | {t} |" for w, v, t in lsp_targets(rows)]
    text = "\n".join(lines) + "\n"
    output = (
        args.output.with_name("lsp.md") if args.output == RESULTS / "benchmarks.md" else args.output
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    return 0


def plot(
    rows: dict[str, tuple[float, int]], scale: list[tuple[int, int, float]], path: Path
) -> None:
    """Two panels: the corpus contenders against xmllint, and time per element by size."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: pip install matplotlib", file=sys.stderr)
        return
    xml_t = rows[XMLLINT][0]
    names = [n for n in rows if n not in (IMPORT_LXML, ONE_FILE)]
    values = [rows[n][0] / xml_t for n in names]
    fig, (bars, curve) = plt.subplots(
        1, 2, figsize=(13, 0.45 * len(names) + 2), gridspec_kw={"width_ratios": (3, 2)}
    )
    bars.barh(names[::-1], values[::-1], color="#4477aa")
    bars.axvline(1.0, color="#cc3311", linestyle="--", label="xmllint --relaxng = 1.0")
    bars.set_xlabel("corpus time relative to xmllint --relaxng (lower is better)")
    bars.legend(loc="lower right")
    devices = [c for c, _, _ in scale]
    micro = [t * 1e6 for _, _, t in scale]
    curve.plot(devices, micro, marker="o", color="#228833")
    curve.set_xscale("log")
    curve.set_ylim(0, max(micro) * 1.6)
    curve.axhline(micro[0] * 1.5, color="#cc3311", linestyle="--", label="target: 1.5 × small")
    curve.set_xlabel("devices in one domain (half disks, half NICs)")
    curve.set_ylabel("µs per element (parse + default rules + source map)")
    curve.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
