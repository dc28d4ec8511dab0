"""The shared corpus (2909 libvirt test domains) as a safety net, with every rule selected.

- The CLI runs over every file with ``--select ALL``, without a host and with
  multi-node hosts: no crash, no traceback, no internal error, no error line.
- ``--fix --unsafe-fixes`` on a copy: every file SOURCES.tsv marks schema-valid
  still validates against domain.rng (lxml's RelaxNG); a second run changes no
  byte; each fix pass is local, adds no error and fixes nothing that comes back
  (tests/fixcheck.py, on the same files in-process, matching the CLI's bytes).
- Two runs with different hash seeds print byte-identical findings and diffs,
  and the order in which files are given does not change any file's findings.

Rules are iterated through the registry, never listed here, so every rule that
merges is covered. Run with ``-s`` to see per-rule counts.
"""

from __future__ import annotations

import collections
import csv
import json
import random
import shutil
from pathlib import Path

import pytest
from lxml import etree

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from fixcheck import check_trace, trace_fix
from helpers import run_cli

pytestmark = pytest.mark.corpus

# Multi-node hosts from libvirt's own test data: 4 cells x 4 CPUs, and a 2-node KVM host.
HOSTS = {
    "no-host": None,
    "4-node": "capabilities/vircaps-x86_64-basic.xml",
    "2-node-kvm": "capabilities/caps-qemu-kvm.xml",
}


def _host_module():
    try:
        from domxml_lint import host
    except ImportError:
        pytest.skip("the host model (issue 3) is not on this branch yet; --host cannot load")
    return host


def host_cli_args(corpus: Path, name: str) -> list[str]:
    if HOSTS[name] is None:
        return []
    _host_module()
    return ["--host", str(corpus / HOSTS[name])]


def host_object(corpus: Path, name: str):
    if HOSTS[name] is None:
        return None
    return _host_module().load_host(str(corpus / HOSTS[name]))


@pytest.fixture(scope="module")
def sources(corpus) -> dict[str, dict[str, str]]:
    """SOURCES.tsv rows of the domain files, keyed by file name; every file has a row."""
    with open(corpus / "SOURCES.tsv", newline="") as handle:
        rows = [
            r for r in csv.DictReader(handle, delimiter="\t") if r["file"].startswith("domain/")
        ]
    by_name = {Path(r["file"]).name: r for r in rows}
    on_disk = {p.name for p in (corpus / "domain").glob("*.xml")}
    assert on_disk == set(by_name), "SOURCES.tsv and the domain directory disagree"
    assert len(by_name) > 2500
    return by_name


@pytest.fixture(scope="module")
def domain_schema(corpus) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(corpus / "schemas" / "domain.rng")))


def _json_findings(result) -> list[dict]:
    assert result.returncode in (0, 1), result.stderr.decode(errors="replace")[-3000:]
    assert result.stderr == b"", result.stderr.decode(errors="replace")[-3000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_all_rules_run_over_the_corpus_without_error(corpus, sources, host):
    result = run_cli(
        "--select",
        "ALL",
        *host_cli_args(corpus, host),
        "--output-format",
        "json",
        str(corpus / "domain"),
        timeout=600,
    )
    assert b"Traceback" not in result.stdout + result.stderr
    assert b"internal error" not in result.stdout + result.stderr
    records = _json_findings(result)
    # Plan rules' findings about the host itself are located in its snapshot file.
    snapshot = {Path(HOSTS[host]).name} if HOSTS[host] else set()
    assert {Path(r["filename"]).name for r in records} <= set(sources) | snapshot
    counts = collections.Counter(r["code"] for r in records)
    print(
        f"\n[{host}] {len(records)} findings in {len({r['filename'] for r in records})} files:",
        dict(sorted(counts.items())),
    )


@pytest.mark.slow
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_fixing_the_corpus_keeps_it_valid_and_converges(
    corpus, sources, domain_schema, tmp_path, host
):
    originals = corpus / "domain"
    copy = tmp_path / "domain"
    shutil.copytree(originals, copy)
    for path in (copy, *copy.iterdir()):
        path.chmod(path.stat().st_mode | 0o200)  # the shared corpus is read-only
    args = [
        "--fix",
        "--unsafe-fixes",
        "--select",
        "ALL",
        *host_cli_args(corpus, host),
        "--output-format",
        "json",
        str(copy),
    ]
    first = _json_findings(run_cli(*args, timeout=600))

    changed = sorted(n for n in sources if (copy / n).read_bytes() != (originals / n).read_bytes())
    invalid = []
    for name, row in sources.items():
        if row["schema_valid"] != "yes":
            continue
        tree = etree.parse(
            str(copy / name), etree.XMLParser(resolve_entities=False, no_network=True)
        )
        if not domain_schema.validate(tree):
            invalid.append(f"{name}: {domain_schema.error_log.last_error}")
    assert not invalid, f"{len(invalid)} fixed files no longer validate:\n" + "\n".join(
        invalid[:20]
    )

    # A second run changes nothing and finds exactly what the first left.
    stamps = {n: (copy / n).stat().st_mtime_ns for n in sources}
    second = _json_findings(run_cli(*args, timeout=600))
    assert second == first
    rewritten = [n for n in sources if (copy / n).stat().st_mtime_ns != stamps[n]]
    assert not rewritten, f"the second fix rewrote {rewritten[:10]}"

    # The same fixes in-process, pass by pass: local edits, no new errors, nothing reappears.
    linter = build_linter(select="ALL", host=host_object(corpus, host))
    applied = collections.Counter()
    for name in changed:
        doc = Document.parse((originals / name).read_bytes(), name)
        trace = trace_fix(doc, linter, unsafe=True)
        assert trace.final.data == (copy / name).read_bytes(), f"{name}: CLI and library disagree"
        check_trace(trace)
        applied.update(f.code for f in trace.applied)
    print(f"\n[{host}] fixed {len(changed)} files; fixes applied: {dict(sorted(applied.items()))}")


@pytest.mark.slow
def test_output_is_deterministic_across_hash_seeds(corpus):
    for args in (
        ["--select", "ALL", "--output-format", "json"],
        ["--diff", "--unsafe-fixes", "--select", "ALL"],
    ):
        runs = [
            run_cli(*args, str(corpus / "domain"), env={"PYTHONHASHSEED": seed}, timeout=600)
            for seed in ("1", "2")
        ]
        assert runs[0].returncode == runs[1].returncode and runs[0].returncode in (0, 1)
        assert runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr == b""


@pytest.mark.slow
def test_file_order_does_not_change_findings(corpus):
    files = sorted(str(p) for p in (corpus / "domain").glob("*.xml"))
    shuffled = files[:]
    random.Random(7).shuffle(shuffled)
    per_order = []
    for order in (files, shuffled, files[::-1]):
        result = run_cli("--select", "ALL", "--output-format", "json", *order, timeout=600)
        by_file = collections.defaultdict(list)
        for record in _json_findings(result):
            by_file[record["filename"]].append(record)
        per_order.append(dict(by_file))
    assert per_order[0] == per_order[1] == per_order[2]
