"""Print what domxml-lint does on a fixed set of inputs, for refactors that must not change it.

    python tools/behaviour_digest.py OUT_DIR

writes into OUT_DIR:

- ``corpus-all-epyc.json``: ``--select ALL --host fixtures/xml/hosts/epyc-2node.xml`` over
  ../shared/corpus/libvirt/domain (the corpus JSON the rule-surface issue names);
- ``corpus-default.json``: the default selection over the corpus, no host;
- ``fixtures-all-<host>.json``: ``--select ALL`` over fixtures/xml with no host, the test
  driver host and the EPYC host;
- ``fixed-<set>.sha256``: the SHA-256 of every file after ``--fix --unsafe-fixes --select ALL``
  on a copy of the corpus (EPYC host) and of fixtures/xml (no host);
- ``verbose-notes.txt``: ``-v`` output over fixtures/xml with the EPYC host, minus timings.

Compare two runs with ``diff -r OLD NEW``. Every file is deterministic (sorted paths, no
timestamps), so any difference is a change in behaviour.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "libvirt" / "domain"
FIXTURES = ROOT / "fixtures" / "xml"
HOSTS = {
    "nohost": None,
    "testdefault": FIXTURES / "hosts" / "test-default.xml",
    "epyc": FIXTURES / "hosts" / "epyc-2node.xml",
}


def lint(*args: str | Path) -> bytes:
    # Paths relative to the checkout, so that two checkouts give identical output.
    shown = [os.path.relpath(a, ROOT) if isinstance(a, Path) else a for a in args]
    command = [sys.executable, "-m", "domxml_lint", "--no-config", "--jobs", "1", *shown]
    done = subprocess.run(command, capture_output=True, cwd=ROOT, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} exited {done.returncode}:\n{done.stderr.decode()[:2000]}")
    return done.stdout + b"\n--- stderr ---\n" + done.stderr


def fixed_digest(source: Path, *host: str | Path) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(source, copy, copy_function=shutil.copyfile)  # writable copies
        lint("--fix", "--unsafe-fixes", "--select", "ALL", "-q", *host, copy)
        lines = [
            f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(copy)}"
            for path in sorted(copy.rglob("*.xml"))
        ]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    epyc = ("--host", HOSTS["epyc"])
    json = ("--output-format", "json")
    (out / "corpus-all-epyc.json").write_bytes(lint("--select", "ALL", *epyc, *json, CORPUS))
    (out / "corpus-default.json").write_bytes(lint(*json, CORPUS))
    for name, host in HOSTS.items():
        host_args = () if host is None else ("--host", host)
        data = lint("--select", "ALL", *host_args, *json, FIXTURES / "rules", FIXTURES / "examples")
        (out / f"fixtures-all-{name}.json").write_bytes(data)
    (out / "fixed-corpus.sha256").write_bytes(fixed_digest(CORPUS, *epyc))
    (out / "fixed-fixtures.sha256").write_bytes(fixed_digest(FIXTURES / "rules"))
    verbose = lint("--select", "ALL", "-v", *epyc, FIXTURES / "rules")
    (out / "verbose-notes.txt").write_bytes(verbose)


if __name__ == "__main__":
    main()
