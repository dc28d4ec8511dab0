"""Every check option, run as a user runs it (a real ``python -m domxml_lint`` process)."""

from __future__ import annotations

import json

import pytest

from helpers import run_cli
from samples import (
    BOTH,
    BROKEN,
    CLEAN,
    CORE,
    NATIVE,
    NATIVE_FIXED,
    NOT_DOMAIN,
    UNSAFE,
    UNSAFE_FIXED,
    UNUSED,
    write,
)


def cli(*args, **kwargs):
    """The CLI with the core rules pinned and no config file from above tmp_path."""
    return run_cli("--no-config", "--select", CORE, *args, **kwargs)


def out(result) -> str:
    return result.stdout.decode()


def err(result) -> str:
    return result.stderr.decode()


# -- subcommand dispatch --------------------------------------------------------------


def test_check_subcommand_is_the_default(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    implicit = cli(str(target))
    explicit = run_cli("check", "--no-config", "--select", CORE, str(target))
    assert implicit.returncode == explicit.returncode == 1
    assert implicit.stdout == explicit.stdout
    assert "DX404" in out(implicit)


def test_a_path_named_like_a_subcommand_is_reachable_after_check(tmp_path):
    write(tmp_path / "rules", "vm.xml", NATIVE)
    result = run_cli("check", "--no-config", "--select", CORE, "rules", cwd=tmp_path)
    assert result.returncode == 1 and "rules/vm.xml:7:38: DX404" in out(result)


def test_host_subcommand_is_dispatched_or_says_it_is_unavailable():
    import importlib.util

    if importlib.util.find_spec("domxml_lint.host") is not None:
        # host snapshot support is installed: `host` reaches its command line
        assert run_cli("host", "--help").returncode == 0
        return
    result = run_cli("host", "snapshot", "--connect", "test:///default")
    assert result.returncode == 2
    lines = err(result).splitlines()
    assert len(lines) == 1 and "domxml-lint host" in lines[0] and "not available" in lines[0]


def test_unknown_option_is_one_line_and_exit_2(tmp_path):
    result = run_cli("--frobnicate", str(tmp_path))
    assert result.returncode == 2
    lines = err(result).splitlines()
    assert len(lines) == 1 and "--frobnicate" in lines[0] and "--help" in lines[0]


def test_help_lists_every_option():
    text = out(run_cli("--help"))
    for option in (
        "--fix",
        "--unsafe-fixes",
        "--diff",
        "--show-fixes",
        "--select",
        "--extend-select",
        "--ignore",
        "--config",
        "--no-config",
        "--host",
        "--fail-on",
        "--exit-zero",
        "--exit-non-zero-on-fix",
        "--output-format",
        "--output-file",
        "--statistics",
        "--quiet",
        "--verbose",
        "--stdin-filename",
        "--jobs",
    ):
        assert option in text, option


# -- selection ------------------------------------------------------------------------


def test_extend_select_adds_to_the_selection(tmp_path):
    target = write(tmp_path, "vm.xml", BOTH)
    only_native = run_cli("--no-config", "--select", "DX404", str(target))
    assert "DX401" not in out(only_native)
    extended = run_cli(
        "--no-config", "--select", "DX404", "--extend-select", "disk-cache-unsafe", str(target)
    )
    assert "DX401" in out(extended) and "DX404" in out(extended)


def test_select_flags_repeat_and_take_commas(tmp_path):
    target = write(tmp_path, "vm.xml", BOTH)
    result = run_cli("--no-config", "--select", "DX401", "--select", "DX404,DX001", str(target))
    assert "DX401" in out(result) and "DX404" in out(result)


def test_ignore_beats_a_broader_select(tmp_path):
    target = write(tmp_path, "vm.xml", BOTH)
    result = run_cli("--no-config", "--select", "DX4", "--ignore", "DX401", str(target))
    assert "DX404" in out(result) and "DX401" not in out(result)


def test_unknown_selector_names_it_with_a_suggestion(tmp_path):
    result = run_cli("--no-config", "--extend-select", "disk-cache-unsave", str(tmp_path))
    assert result.returncode == 2
    assert "'disk-cache-unsave'" in err(result)
    assert "did you mean 'disk-cache-unsafe'" in err(result)


# -- fixing -------------------------------------------------------------------------------


def test_show_fixes_lists_what_was_fixed(tmp_path):
    target = write(tmp_path, "vm.xml", BOTH)
    result = cli("--fix", "--unsafe-fixes", "--show-fixes", str(target))
    assert result.returncode == 0, err(result)
    assert out(result).splitlines()[:4] == [
        "Fixed 2 findings:",
        f"- {target}:",
        "    1 x DX401 (disk-cache-unsafe)",
        "    1 x DX404 (io-native-needs-direct-cache)",
    ]


def test_show_fixes_without_fix_shows_each_fix(tmp_path):
    target = write(tmp_path, "vm.xml", BOTH)
    lines = out(cli("--show-fixes", str(target))).splitlines()
    assert lines[1] == "    fix (safe): Set cache='none'"
    assert lines[3] == "    fix (unsafe, needs --unsafe-fixes): Set cache='none'"


def test_diff_with_show_fixes_says_would_fix(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    result = cli("--diff", "--show-fixes", str(target))
    assert result.returncode == 1
    assert "Would fix 1 finding:" in out(result)
    assert target.read_text() == NATIVE


def test_no_unsafe_fixes_overrides_the_flag(tmp_path):
    target = write(tmp_path, "vm.xml", UNSAFE)
    result = cli("--fix", "--unsafe-fixes", "--no-unsafe-fixes", str(target))
    assert result.returncode == 1 and target.read_text() == UNSAFE
    assert cli("--fix", "--unsafe-fixes", str(target)).returncode == 0
    assert target.read_text() == UNSAFE_FIXED


# -- exit status ----------------------------------------------------------------------------


def test_exit_zero_keeps_findings_but_exits_0(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    result = cli("--exit-zero", str(target))
    assert result.returncode == 0 and "DX404" in out(result)


def test_exit_zero_does_not_hide_errors(tmp_path):
    target = write(tmp_path, "bad.xml", BROKEN)
    assert cli("--exit-zero", str(target)).returncode == 2


def test_exit_non_zero_on_fix(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    plain = cli("--fix", str(write(tmp_path, "other.xml", NATIVE)))
    assert plain.returncode == 0
    result = cli("--fix", "--exit-non-zero-on-fix", str(target))
    assert result.returncode == 1 and target.read_text() == NATIVE_FIXED
    again = cli("--fix", "--exit-non-zero-on-fix", str(target))
    assert again.returncode == 0, "nothing left to fix: exit 0"


def test_exit_zero_and_exit_non_zero_on_fix_conflict(tmp_path):
    result = cli("--exit-zero", "--exit-non-zero-on-fix", str(tmp_path))
    assert result.returncode == 2 and "not allowed with" in err(result)


@pytest.mark.parametrize(("fail_on", "expected"), [("info", 1), ("warning", 1), ("error", 0)])
def test_fail_on_a_warning(tmp_path, fail_on, expected):
    target = write(tmp_path, "vm.xml", UNUSED)  # DX001 is a warning
    result = cli("--fail-on", fail_on, str(target))
    assert result.returncode == expected
    assert "DX001" in out(result), "findings below --fail-on are still shown"


def test_fail_on_error_still_fails_on_errors(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    assert cli("--fail-on", "error", str(target)).returncode == 1


# -- output control ---------------------------------------------------------------------------


def test_statistics_counts_per_rule(tmp_path):
    write(tmp_path, "a.xml", BOTH)
    write(tmp_path, "b.xml", NATIVE)
    result = cli("--statistics", str(tmp_path))
    assert result.returncode == 1
    assert out(result).splitlines() == [
        "2  DX404  [*] io-native-needs-direct-cache",
        "1  DX401      disk-cache-unsafe",
        "3 findings in 2 files (2 fixable with --fix, 1 more with --unsafe-fixes).",
    ]
    records = json.loads(cli("--statistics", "--output-format", "json", str(tmp_path)).stdout)
    assert records == [
        {"code": "DX404", "name": "io-native-needs-direct-cache", "count": 2, "fixable": True},
        {"code": "DX401", "name": "disk-cache-unsafe", "count": 1, "fixable": False},
    ]


def test_quiet_prints_findings_only(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    result = cli("--quiet", str(target))
    lines = out(result).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{target}:7:38: DX404")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("--quiet", str(empty)).stderr == b"", "no warnings with --quiet"
    assert b"no *.xml files" in cli(str(empty)).stderr


def test_verbose_names_skipped_files_and_config(tmp_path):
    write(tmp_path, "net.xml", NOT_DOMAIN)  # an empty file is an error, not a skip: test_hostile
    write(tmp_path, "vm.xml", CLEAN)
    result = cli("--verbose", str(tmp_path))
    assert result.returncode == 0
    text = err(result)
    assert f"skipped {tmp_path / 'net.xml'}: root element is <network>, not <domain>" in text
    assert "config: none found; built-in defaults" in text
    assert out(result) == "No findings in 1 file.\n", "verbose output goes to stderr"
    assert "skipped" not in err(cli(str(tmp_path)))


def test_quiet_and_verbose_conflict(tmp_path):
    assert cli("-q", "-v", str(tmp_path)).returncode == 2


def test_output_file(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    report = tmp_path / "report.json"
    result = cli("--output-format", "json", "-o", str(report), str(target))
    assert result.returncode == 1 and result.stdout == b""
    assert json.loads(report.read_text())[0]["code"] == "DX404"


def test_diff_needs_text_output(tmp_path):
    result = cli("--diff", "--output-format", "sarif", str(tmp_path))
    assert result.returncode == 2 and "--diff" in err(result)


# -- colour -------------------------------------------------------------------------------


def test_no_colour_when_piped(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    assert b"\x1b[" not in cli(str(target)).stdout


def test_force_color_and_no_color(tmp_path):
    target = write(tmp_path, "vm.xml", NATIVE)
    forced = cli(str(target), env={"FORCE_COLOR": "1"})
    assert b"\x1b[1;31mDX404\x1b[0m" in forced.stdout
    assert b"\x1b[" not in cli(str(target), env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


def test_colour_on_a_terminal_unless_no_color(tmp_path):
    pty = pytest.importorskip("pty")
    import os
    import subprocess
    import sys

    target = write(tmp_path, "vm.xml", NATIVE)

    def on_terminal(extra_env):
        primary, secondary = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        env.update(extra_env, TERM="xterm")
        process = subprocess.Popen(
            [sys.executable, "-m", "domxml_lint", "--no-config", "--select", CORE, str(target)],
            stdout=secondary,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
        os.close(primary)
        return b"".join(chunks)

    assert b"\x1b[1;31mDX404" in on_terminal({})
    assert b"\x1b[" not in on_terminal({"NO_COLOR": "1"})


# -- stdin ------------------------------------------------------------------------------------


def test_stdin_is_linted_under_its_stdin_filename(tmp_path):
    result = cli("-", "--stdin-filename", "guests/web.xml", input=NATIVE.encode())
    assert result.returncode == 1
    assert out(result).startswith("guests/web.xml:7:38: DX404 [*]")


def test_stdin_without_a_name_is_shown_as_dash():
    result = cli("-", input=UNSAFE.encode())
    assert out(result).startswith("-:7:38: DX401")


def test_stdin_filename_alone_reads_stdin():
    result = cli("--stdin-filename", "vm.xml", input=UNSAFE.encode())
    assert result.returncode == 1 and out(result).startswith("vm.xml:7:38: DX401")


def test_fix_on_stdin_writes_the_document_to_stdout_and_findings_to_stderr():
    result = cli("--fix", "-", "--stdin-filename", "vm.xml", input=BOTH.encode())
    assert result.returncode == 1, "the unsafe DX401 remains"
    fixed = result.stdout.decode()
    assert "io='native' cache='none'" in fixed and "cache='unsafe'" in fixed
    assert "vm.xml:12:38: DX401" in err(result)
    assert "1 finding left in 1 file (1 fixed; 1 fixable with --unsafe-fixes)." in err(result)


def test_fix_on_stdin_echoes_what_it_cannot_fix():
    for text in (NOT_DOMAIN, CLEAN):
        result = cli("--fix", "-", input=text.encode())
        assert result.returncode == 0 and result.stdout.decode() == text
    broken = cli("--fix", "-", input=BROKEN.encode())
    assert broken.returncode == 2 and broken.stdout.decode() == BROKEN
    assert "not well-formed XML" in err(broken)


def test_diff_on_stdin(tmp_path):
    result = cli("--diff", "-", "--stdin-filename", "vm.xml", input=NATIVE.encode())
    assert result.returncode == 1
    assert "+      <driver name='qemu' type='raw' io='native' cache='none'/>" in out(result)


def test_stdin_cannot_mix_with_paths(tmp_path):
    result = cli("-", str(tmp_path), input=b"")
    assert result.returncode == 2 and "stdin" in err(result)


# -- errors ---------------------------------------------------------------------------------


def test_each_error_is_one_line_and_the_batch_goes_on(tmp_path):
    write(tmp_path, "a.xml", BROKEN)
    write(tmp_path, "b.xml", NATIVE)
    result = cli(str(tmp_path), str(tmp_path / "missing.xml"))
    assert result.returncode == 2
    assert f"{tmp_path / 'b.xml'}:7:38: DX404" in out(result)
    lines = err(result).splitlines()
    assert all(line.startswith("domxml-lint: error: ") for line in lines)
    assert any(f"{tmp_path / 'a.xml'}:2:" in line and "not well-formed" in line for line in lines)
    assert any(f"{tmp_path / 'missing.xml'}: no such file" in line for line in lines)
    assert "could not be checked" in out(result).splitlines()[-1]


# -- host-aware rules --------------------------------------------------------------------------

HOST_PLUGIN = '''
from domxml_lint import hookimpl, rule


def _make(code, name):
    @rule(code=code, name=name, severity="warning", summary="needs the host", needs_host=True)
    def check(ctx):
        """
        ## What it does
        Looks at the host.
        """
        yield ctx.finding(ctx.facts.root, "host said no")

    return check


@hookimpl
def domxml_lint_rules():
    return [_make("HST001", "hst-one"), _make("HST002", "hst-two")]
'''


def test_summary_counts_host_aware_rules_skipped(tmp_path):
    from test_plugins import install_dist_info

    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "hst_rules", HOST_PLUGIN)
    env = {"PYTHONPATH": str(site)}
    write(tmp_path / "vms", "a.xml", NATIVE)
    write(tmp_path / "vms", "b.xml", CLEAN)
    result = run_cli("--no-config", "--select", f"{CORE},HST", str(tmp_path / "vms"), env=env)
    assert result.returncode == 1
    assert out(result).splitlines()[-1] == (
        "1 finding in 1 of 2 files (1 fixable with --fix; 2 host-aware rules skipped: no --host)."
    )
    verbose = run_cli(
        "--no-config", "--select", "HST001", "--verbose", str(tmp_path / "vms"), env=env
    )
    # Once for the run, not once per file.
    assert err(verbose).count("skipped host-aware rules") == 1
    assert "skipped host-aware rules on 2 files (no --host): HST001" in err(verbose)
    assert out(verbose).splitlines()[-1] == (
        "No findings in 2 files (1 host-aware rule skipped: no --host)."
    )


NOTE_PLUGIN = '''
from domxml_lint import hookimpl, rule


@rule(code="NTE001", name="nte-quiet-rule", severity="info", summary="explains its silence")
def quiet_rule(ctx):
    """
    ## What it does
    Nothing, and says why.
    """
    ctx.note("the host snapshot has no NUMA cells")
    return []


@hookimpl
def domxml_lint_rules():
    return [quiet_rule]
'''


def test_verbose_shows_why_rules_stayed_silent(tmp_path):
    from test_plugins import install_dist_info

    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "nte_rules", NOTE_PLUGIN)
    target = write(tmp_path, "vm.xml", CLEAN)
    args = ("--no-config", "--select", "NTE001", str(target))
    verbose = run_cli("--verbose", *args, env={"PYTHONPATH": str(site)})
    assert verbose.returncode == 0
    note = f"domxml-lint: note: {target}: NTE001: the host snapshot has no NUMA cells"
    assert note in err(verbose)
    assert b"NUMA" not in run_cli(*args, env={"PYTHONPATH": str(site)}).stderr


def test_readme_documents_every_option():
    from domxml_lint.cli import build_parser
    from helpers import REPO

    readme = (REPO / "README.md").read_text()
    for action in build_parser()._actions:
        for option in action.option_strings:
            if option.startswith("--"):
                assert f"`{option}" in readme, f"README does not document {option}"


@pytest.fixture
def unprivileged(tmp_path):
    """A folder, and a way to run the CLI there so that file permissions bind.

    Root reads and searches anything through CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH; as root, the CLI runs with both dropped from its
    capability bounding set (what ``setpriv --bounding-set`` does).
    """
    import ctypes
    import os
    import subprocess
    import sys

    from helpers import IN_CI

    drop = None
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2

        def drop():
            for capability in (cap_dac_override, cap_dac_read_search):
                if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
                    os._exit(97)

    def run(*args):
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        result = subprocess.run(
            [sys.executable, "-m", "domxml_lint", "--no-config", "--select", CORE, *args],
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
            env=env,
            preexec_fn=drop,
        )
        if result.returncode == 97:
            message = "cannot drop CAP_DAC_OVERRIDE here (no CAP_SETPCAP)"
            pytest.fail(message) if IN_CI else pytest.skip(message)
        return result

    yield tmp_path, run
    for path in tmp_path.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_an_unsearchable_directory_is_an_error(unprivileged):
    folder, run = unprivileged
    write(folder / "ok", "vm.xml", NATIVE)
    write(folder / "locked", "vm.xml", NATIVE)
    (folder / "locked").chmod(0)
    result = run(".")
    assert result.returncode == 2 and b"./ok/vm.xml:7:38: DX404" in result.stdout
    (line,) = err(result).splitlines()
    assert line == (
        "domxml-lint: error: ./locked: cannot search this directory: Permission denied "
        "(check its permissions; files in it were not checked)"
    )


def test_an_unreadable_file_is_an_error_and_the_batch_goes_on(unprivileged):
    folder, run = unprivileged
    write(folder, "a.xml", NATIVE)
    write(folder, "b.xml", NATIVE)
    (folder / "a.xml").chmod(0)
    result = run(".")
    assert result.returncode == 2 and b"./b.xml:7:38: DX404" in result.stdout
    (line,) = err(result).splitlines()
    assert line.startswith("domxml-lint: error: ./a.xml: permission denied while reading")
