"""--jobs: a process pool whose output is byte-identical to a serial run, in the same order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from domxml_lint.errors import InputError
from domxml_lint.runner import POOL_THRESHOLD, workers_for
from helpers import run_cli
from samples import BOTH, BROKEN, CLEAN, CORE, NATIVE, NOT_DOMAIN, UNSAFE, UNUSED, write

FORMATS = ["text", "json", "sarif", "github", "junit"]


@pytest.fixture
def batch(tmp_path):
    """A mixed batch: findings, clean files, errors and non-domain XML, in several folders."""
    root = tmp_path / "batch"
    kinds = [BOTH, NATIVE, UNSAFE, UNUSED, CLEAN, NOT_DOMAIN, BROKEN]
    for index in range(70):
        write(root / f"group-{index % 3}", f"vm-{index:03}.xml", kinds[index % len(kinds)])
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_pool_output_is_byte_identical(batch, fmt):
    serial = run_cli(
        "--no-config", "--select", CORE, "--jobs", "1", "--output-format", fmt, ".", cwd=batch
    )
    pooled = run_cli(
        "--no-config", "--select", CORE, "--jobs", "2", "--output-format", fmt, ".", cwd=batch
    )
    assert serial.returncode == pooled.returncode == 2  # the broken files
    assert serial.stdout == pooled.stdout
    assert serial.stderr == pooled.stderr
    assert serial.stdout.count(b"DX404") >= 20


def test_pool_is_really_used(batch):
    result = run_cli("--no-config", "--jobs", "2", "--verbose", ".", cwd=batch)
    assert "checked 70 files with 2 processes" in result.stderr.decode()
    result = run_cli("--no-config", "--verbose", ".", cwd=batch)
    assert "checked 70 files serially" in result.stderr.decode(), "auto: small batch is serial"


def test_pool_fixes_exactly_as_serial(batch, tmp_path):
    serial_copy = tmp_path / "serial"
    pooled_copy = tmp_path / "pooled"
    shutil.copytree(batch, serial_copy)
    shutil.copytree(batch, pooled_copy)
    args = ("--no-config", "--select", CORE, "--fix", "--unsafe-fixes", "--show-fixes", ".")
    serial = run_cli("--jobs", "1", *args, cwd=serial_copy)
    pooled = run_cli("--jobs", "2", *args, cwd=pooled_copy)
    assert serial.stdout == pooled.stdout and serial.stderr == pooled.stderr
    assert b"Fixed " in serial.stdout
    files = sorted(p.relative_to(serial_copy) for p in serial_copy.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(pooled_copy) for p in pooled_copy.rglob("*") if p.is_file()
    )
    for name in files:
        assert (serial_copy / name).read_bytes() == (pooled_copy / name).read_bytes(), name
    first = Path("group-0") / "vm-000.xml"
    assert (serial_copy / first).read_bytes() != (batch / first).read_bytes(), "fixes were applied"


@pytest.mark.slow
@pytest.mark.corpus
def test_pool_matches_serial_on_the_corpus(corpus):
    domains = corpus / "domain"
    for fmt in ("text", "sarif"):
        args = ("--no-config", "--select", "ALL", "--output-format", fmt, str(domains))
        serial = run_cli("--jobs", "1", *args, timeout=600)
        pooled = run_cli("--jobs", "2", *args, timeout=600)
        assert serial.returncode == pooled.returncode
        assert serial.returncode in (0, 1), serial.stderr[-2000:]
        assert serial.stdout == pooled.stdout
        assert serial.stderr == pooled.stderr


def test_bad_jobs_values():
    for value in ("-1", "two"):
        result = run_cli("--jobs", value, ".")
        assert result.returncode == 2 and b"--jobs" in result.stderr


@pytest.mark.parametrize(
    ("jobs", "files", "expected"),
    [
        (0, 1, 1),
        (0, POOL_THRESHOLD - 1, 1),
        (1, 5000, 1),
        (2, 2, 2),
        (8, 3, 3),
        (2, 1, 1),
    ],
)
def test_workers_for(jobs, files, expected):
    assert workers_for(jobs, files) == expected


def test_auto_uses_every_cpu_for_big_batches():
    from domxml_lint.runner import cpu_count

    assert workers_for(0, POOL_THRESHOLD) == min(cpu_count(), POOL_THRESHOLD)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_interrupting_a_pooled_fix_leaves_whole_files_and_no_litter(tmp_path, signal_name):
    import random
    import signal
    import subprocess
    import sys
    import time

    from samples import disk, domain

    fixed = domain(devices=disk(" io='native' cache='none'") + disk(" cache='none'", "vdb"))
    for trial in range(2):
        folder = tmp_path / f"trial-{trial}"
        for index in range(1500):
            write(folder, f"vm-{index:04}.xml", BOTH)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "domxml_lint",
                "--no-config",
                "--select",
                CORE,
                "--fix",
                "--unsafe-fixes",
                "--jobs",
                "2",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Signal mid-run: once the first file is fixed (a signal during the interpreter's
        # start-up, before any handler exists, would only test Python), then a bit later.
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if (folder / "vm-0000.xml").read_text() != BOTH:  # renamed over: whole
                break
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.4))
        process.send_signal(getattr(signal, signal_name))
        _, stderr = process.communicate(timeout=120)
        assert process.returncode in (0, 1, 130, 143), stderr
        names = sorted(p.name for p in folder.iterdir())
        assert names == [f"vm-{index:04}.xml" for index in range(1500)], "temporary files left"
        for path in folder.iterdir():
            assert path.read_text() in (BOTH, fixed), path


def killer_plugin(code: str, name: str, kills: str) -> str:
    """A plugin whose rule SIGKILLs the process it runs in when the expression ``kills`` holds.

    ``FIRST_PROCESS`` is the process that imported the plugin: the one that forks the workers.
    """
    return f"""
import os
import signal

from domxml_lint import hookimpl, rule

FIRST_PROCESS = os.getpid()


@rule(code="{code}", name="{name}", severity="info", summary="kills a process")
def kill(ctx):
    '''
    ## What it does
    Simulates a process killed outright (the OOM killer, or kill -9).
    '''
    if {kills}:
        os.kill(os.getpid(), signal.SIGKILL)
    return []


@hookimpl
def domxml_lint_rules():
    return [kill]
"""


KILLER_PLUGIN = killer_plugin("KIL001", "kil-worker", "os.getpid() != FIRST_PROCESS")
FIRST_PROCESS_KILLER = killer_plugin("KIL002", "kil-first", "os.getpid() == FIRST_PROCESS")


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path):
    from test_plugins import install_dist_info

    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "kil_rules", KILLER_PLUGIN)
    for index in range(200):  # far more than the first process checks before a worker starts
        write(tmp_path / "vms", f"vm-{index:03}.xml", NATIVE)
    args = ("--no-config", "--select", "KIL001,DX404", str(tmp_path / "vms"))
    pooled = run_cli("--jobs", "2", *args, env={"PYTHONPATH": str(site)}, timeout=120)
    assert pooled.returncode == 2
    lines = pooled.stderr.decode().splitlines()
    assert len(lines) == 1 and "a worker process died" in lines[0] and "--jobs 1" in lines[0]
    assert pooled.stdout == b""
    serial = run_cli("--jobs", "1", *args, env={"PYTHONPATH": str(site)})
    assert serial.returncode == 1 and serial.stdout.count(b"DX404") == 200


PID_PLUGIN = '''
import os

from domxml_lint import hookimpl, rule


@rule(code="PID001", name="pid-of-checker", severity="info", summary="says who checked")
def pid_of_checker(ctx):
    """
    ## What it does
    Reports the id of the process that checked the file.
    """
    yield ctx.finding(ctx.doc.root, f"checked by {os.getpid()}")


@hookimpl
def domxml_lint_rules():
    return [pid_of_checker]
'''


def test_the_first_process_checks_files_too_and_results_keep_input_order(tmp_path):
    import json
    import subprocess
    import sys

    from test_plugins import install_dist_info

    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "pid_rules", PID_PLUGIN)
    for index in range(600):
        write(tmp_path / "vms", f"vm-{index:03}.xml", NATIVE)
    process = subprocess.Popen(
        [sys.executable, "-m", "domxml_lint", "--no-config", "--select", "PID001,DX404"]
        + ["--jobs", "2", "--output-format", "json", str(tmp_path / "vms")],
        stdout=subprocess.PIPE,
        env={**__import__("os").environ, "PYTHONPATH": str(site)},
    )
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    records = json.loads(out)
    checkers = [int(r["message"].split()[-1]) for r in records if r["code"] == "PID001"]
    assert len(checkers) == 600
    assert process.pid in checkers, "the process that forks takes chunks as well"
    assert len(set(checkers)) == 2, "one worker was forked and took chunks"
    files = [r["filename"] for r in records if r["code"] == "PID001"]
    assert files == sorted(files), "results come back in input order"


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["2", "3"])
def test_workers_stop_taking_files_once_the_run_is_killed(tmp_path, jobs):
    # SIGKILL cannot be caught: the first process cannot stop its workers. A worker sends
    # every chunk's results as soon as it is done; with its reader gone that write fails
    # and the worker exits, so --fix does not go on rewriting files for a killed run.
    import time

    from test_plugins import install_dist_info

    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "kil_first", FIRST_PROCESS_KILLER)
    folder = tmp_path / "vms"
    for index in range(2000):
        write(folder, f"vm-{index:04}.xml", NATIVE)
    result = run_cli(
        "--no-config",
        "--select",
        "KIL002,DX404",
        "--fix",
        "--jobs",
        jobs,
        str(folder),
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == -9

    def fixed() -> int:
        return sum(1 for p in folder.iterdir() if p.read_text() != NATIVE)

    seen, stable_since = fixed(), time.monotonic()
    while time.monotonic() - stable_since < 1.5:  # until the orphaned worker has stopped
        time.sleep(0.1)
        now = fixed()
        if now != seen:
            seen, stable_since = now, time.monotonic()
    assert seen < 400, f"an orphaned worker fixed {seen} of 2000 files"
    assert not [p for p in folder.iterdir() if not p.name.endswith(".xml")], "temporary files"


def test_results_survive_the_trip_from_a_worker_unchanged():
    """Workers pickle results as tuples of their fields: every field must survive."""
    import pickle

    import domxml_lint
    from domxml_lint.findings import Applicability, Severity
    from domxml_lint.report import FileResult

    examples = sorted((Path(__file__).parents[1] / "fixtures" / "xml").rglob("*.xml"))
    findings = [f for path in examples for f in _lint_or_nothing(domxml_lint, path)]
    anchored = [f for f in findings if f.fix and any(e.anchor is not None for e in f.fix.edits)]
    assert anchored and any(f.fix and f.fix.applicability is Applicability.UNSAFE for f in findings)
    result = FileResult(
        "vm.xml",
        findings=findings,
        applied=anchored[:3],
        notes=[("DX001", "why")],
        changed=True,
        unsafe=True,
        fail_on=Severity.WARNING,
        host_skipped=("DX205",),
    )
    back = pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == result
    # eq=False fields are not compared by ==: check them one by one
    assert [f.offset for f in back.findings] == [f.offset for f in findings]
    assert [e.anchor for f in back.findings if f.fix for e in f.fix.edits] == [
        e.anchor for f in findings if f.fix for e in f.fix.edits
    ]
    assert back.fail_on is Severity.WARNING
    assert all(a.severity is b.severity for a, b in zip(back.findings, findings, strict=True))


def _samples():
    """One instance of every tuple-pickled class, each field set away from its default."""
    from domxml_lint.findings import Applicability, Edit, Finding, Fix, Related, Severity
    from domxml_lint.guests import (
        Demand,
        DiskUse,
        GuestFacts,
        HostdevUse,
        NicUse,
        Pinned,
        Place,
        PortUse,
        Suppressed,
    )
    from domxml_lint.report import FileResult

    edit = Edit(3, 5, "x", anchor=1)
    fix = Fix(Applicability.UNSAFE, "title", (edit,))
    related = Related("other.xml", 9, 3, "there")
    finding = Finding(
        "ZZ999",
        "n",
        Severity.WARNING,
        "m",
        2,
        3,
        4,
        5,
        "/domain",
        fix,
        offset=7,
        related=(related,),
    )
    place = Place(2, 3, 2, 9, "/domain/x")
    guest = GuestFacts(
        "vm.xml",
        "domain",
        place,
        "vm",
        place,
        "ab" * 16,
        place,
        "kvm",
        4,
        place,
        1024,
        place,
        True,
        512,
        [Demand(frozenset({1}), 512, 2048, "the guest's memory", place)],
        [Demand(frozenset({0}), 512, None, "cell 0", place)],
        [Pinned(0, frozenset({3}), place)],
        True,
        frozenset({0}),
        frozenset({1}),
        place,
        True,
        [DiskUse(("file", "/a"), "disk 'vda'", True, False, place)],
        [NicUse("bridge", "virtio", "52:54:00:00:00:01", ("bridge", "br0"), place)],
        [PortUse("vnc", "port", 5901, None, place)],
        [HostdevUse("pci", "0000:01:00.0", place)],
        [Suppressed("DX413", None)],
    )
    result = FileResult(
        "vm.xml", [finding], [finding], InputError("vm.xml", "bad"), True, "why", True, "diff",
        [("DX1", "note")], True, Severity.ERROR, ("DX2",), (("QEMU", 3),), b"out", "domain",
        b"source", "latin-1", guest,
    )  # fmt: skip
    return {
        Edit: edit, Fix: fix, Related: related, Finding: finding, GuestFacts: guest,
        FileResult: result,
    }  # fmt: skip


def test_every_tuple_pickled_class_carries_every_field():
    """A field added to one of these classes is sent by --jobs workers, or this fails."""
    import pickle

    import attrs

    from domxml_lint.findings import TUPLE_PICKLED

    samples = _samples()
    assert set(TUPLE_PICKLED) == set(samples), "add a sample for the new class"
    for cls, sample in samples.items():
        for field in attrs.fields(cls):
            default = field.default
            if isinstance(default, attrs.Factory):
                default = default.factory()
            assert getattr(sample, field.name) != default, f"{cls.__name__}.{field.name}: set it"
        back = pickle.loads(pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL))
        for field in attrs.fields(cls):
            got, want = getattr(back, field.name), getattr(sample, field.name)
            assert repr(got) == repr(want), f"{cls.__name__}.{field.name} lost on the way"


def _lint_or_nothing(domxml_lint, path):
    try:
        return domxml_lint.lint(path, select="ALL")
    except domxml_lint.InputError:  # the fixtures that are broken on purpose
        return []
