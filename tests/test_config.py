"""Configuration files: discovery, precedence, keys, command-line overrides, and errors."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from domxml_lint.config import ConfigResolver, glob_regex
from domxml_lint.errors import UsageError
from domxml_lint.plugins import load_ruleset
from helpers import run_cli
from samples import BOTH, CORE, NATIVE, NATIVE_FIXED, UNSAFE, UNSAFE_FIXED, UNUSED, write
from test_plugins import install_dist_info


def toml(directory, name, text):
    return write(directory, name, textwrap.dedent(text))


def codes(result) -> set[str]:
    return {
        line.split(": ")[1].split()[0]
        for line in result.stdout.decode().splitlines()
        if ": DX" in line
    }


def err(result) -> str:
    return result.stderr.decode()


# -- discovery ----------------------------------------------------------------------------


def test_pyproject_table_is_read(tmp_path):
    toml(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "guests"

        [tool.domxml-lint]
        select = ["DX401"]
    """,
    )
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli(str(tmp_path), cwd=tmp_path)) == {"DX401"}


def test_nearest_config_wins_without_merging(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\nfail-on = "error"\n')
    toml(tmp_path / "team", "domxml-lint.toml", 'ignore = ["DX401"]\n')
    write(tmp_path, "top.xml", BOTH)
    write(tmp_path / "team" / "deep", "vm.xml", BOTH)
    result = run_cli(str(tmp_path), cwd=tmp_path)
    by_file = {}
    for line in result.stdout.decode().splitlines():
        if ": DX" in line:
            by_file.setdefault(line.split(":")[0], set()).add(line.split(": ")[1].split()[0])
    assert by_file[str(tmp_path / "top.xml")] == {"DX401"}
    # team/ has its own config: the defaults minus DX401, nothing from the parent
    assert by_file[str(tmp_path / "team" / "deep" / "vm.xml")] == {"DX404"}


def test_precedence_within_one_directory(tmp_path):
    toml(tmp_path, "pyproject.toml", '[tool.domxml-lint]\nselect = ["DX404"]\n')
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli(str(tmp_path))) == {"DX401"}, "domxml-lint.toml beats pyproject.toml"
    toml(tmp_path, ".domxml-lint.toml", 'select = ["DX404"]\n')
    assert codes(run_cli(str(tmp_path))) == {"DX404"}, ".domxml-lint.toml beats both"


def test_pyproject_without_the_table_is_passed_over(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    toml(tmp_path / "pkg", "pyproject.toml", "[tool.black]\nline-length = 99\n")
    write(tmp_path / "pkg", "vm.xml", BOTH)
    assert codes(run_cli(str(tmp_path / "pkg"))) == {"DX401"}


def test_files_with_no_config_above_use_the_current_directorys(tmp_path):
    project = tmp_path / "project"
    outside = tmp_path / "elsewhere"
    toml(project, "domxml-lint.toml", 'select = ["DX401"]\n')
    target = write(outside, "vm.xml", BOTH)
    assert codes(run_cli(str(target), cwd=project)) == {"DX401"}
    assert codes(run_cli(str(target), cwd=outside)) == {"DX401", "DX404"}


def test_config_flag_uses_one_file_for_everything(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    chosen = toml(tmp_path / "ci", "strict.toml", 'select = ["DX404"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli("--config", str(chosen), str(tmp_path))) == {"DX404"}


def test_no_config_ignores_files(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli("--no-config", str(tmp_path))) == {"DX401", "DX404"}


def test_stdin_filename_finds_the_config(tmp_path):
    toml(tmp_path / "guests", "domxml-lint.toml", 'select = ["DX401"]\n')
    result = run_cli("-", "--stdin-filename", "guests/vm.xml", input=BOTH.encode(), cwd=tmp_path)
    assert codes(result) == {"DX401"}


def test_verbose_names_the_config_used(tmp_path):
    config = toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert f"config: {config}" in err(run_cli("--verbose", str(tmp_path)))


# -- keys and command-line overrides ----------------------------------------------------------


def test_command_line_select_replaces_extend_select_and_ignore_adjust(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli("--select", "DX404", str(tmp_path))) == {"DX404"}
    assert codes(run_cli("--extend-select", "DX404", str(tmp_path))) == {"DX401", "DX404"}
    assert codes(run_cli("--ignore", "DX401", str(tmp_path))) == set()


def test_extend_select_and_ignore_keys(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX404"]\nextend-select = ["DX401"]\n')
    write(tmp_path, "vm.xml", BOTH)
    assert codes(run_cli(str(tmp_path))) == {"DX401", "DX404"}
    toml(tmp_path, "domxml-lint.toml", 'ignore = ["disk-cache-unsafe"]\n')
    assert codes(run_cli(str(tmp_path))) == {"DX404"}


def test_per_file_ignores_are_relative_to_the_config(tmp_path):
    toml(
        tmp_path,
        "domxml-lint.toml",
        f"""
        select = {CORE.split(",")!r}
        [per-file-ignores]
        "legacy/*.xml" = ["DX401"]
        "scratch" = ["DX4"]
        "**/lab-*.xml" = ["io-native-needs-direct-cache"]
    """.replace("'", '"'),
    )
    write(tmp_path / "legacy", "old.xml", BOTH)
    write(tmp_path / "legacy" / "sub", "deeper.xml", BOTH)  # * does not cross /
    write(tmp_path / "a" / "scratch" / "b", "vm.xml", BOTH)  # a bare name matches any level
    write(tmp_path / "x" / "y", "lab-1.xml", BOTH)
    write(tmp_path, "prod.xml", BOTH)
    lines = run_cli(str(tmp_path), cwd=tmp_path / "x").stdout.decode().splitlines()

    def found(name):
        prefix = str(tmp_path / name) + ":"
        return {line.split(": ")[1].split()[0] for line in lines if line.startswith(prefix)}

    assert found("legacy/old.xml") == {"DX404"}
    assert found("legacy/sub/deeper.xml") == {"DX401", "DX404"}
    assert found("a/scratch/b/vm.xml") == set()
    assert found("x/y/lab-1.xml") == {"DX401"}
    assert found("prod.xml") == {"DX401", "DX404"}


def test_per_file_ignores_also_stop_fixes(tmp_path):
    toml(tmp_path, "domxml-lint.toml", '[per-file-ignores]\n"keep-*.xml" = ["DX404"]\n')
    kept = write(tmp_path, "keep-me.xml", NATIVE)
    fixed = write(tmp_path, "fix-me.xml", NATIVE)
    assert run_cli("--fix", str(tmp_path)).returncode == 0
    assert kept.read_text() == NATIVE and fixed.read_text() == NATIVE_FIXED


def test_fail_on_key_and_its_override(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'fail-on = "error"\n')
    write(tmp_path, "vm.xml", UNUSED)  # only a warning (DX001)
    assert run_cli(str(tmp_path)).returncode == 0
    assert run_cli("--fail-on", "warning", str(tmp_path)).returncode == 1


def test_unsafe_fixes_key_and_its_override(tmp_path):
    toml(tmp_path, "domxml-lint.toml", "unsafe-fixes = true\n")
    target = write(tmp_path, "vm.xml", UNSAFE)
    assert run_cli("--fix", "--no-unsafe-fixes", str(tmp_path)).returncode == 1
    assert target.read_text() == UNSAFE
    assert run_cli("--fix", str(tmp_path)).returncode == 0
    assert target.read_text() == UNSAFE_FIXED


HOST_SUPPORT = importlib.util.find_spec("domxml_lint.host") is not None


def test_host_paths_are_relative_to_the_config(tmp_path):
    toml(tmp_path / "guests", "domxml-lint.toml", 'host = "../hosts/missing.xml"\n')
    write(tmp_path / "guests", "vm.xml", NATIVE)
    result = run_cli(str(tmp_path / "guests"), cwd=tmp_path)
    assert result.returncode == 2
    assert "host file '../hosts/missing.xml' not found (looked for hosts/missing.xml; " in (
        err(result)
    )


def test_host_key_loads_the_snapshot(tmp_path):
    capabilities = write(tmp_path / "hosts", "caps.xml", CAPABILITIES)
    toml(tmp_path / "guests", "domxml-lint.toml", 'host = ["../hosts/caps.xml"]\n')
    write(tmp_path / "guests", "vm.xml", NATIVE)
    result = run_cli("--select", CORE, str(tmp_path / "guests"), cwd=tmp_path)
    if HOST_SUPPORT:
        assert result.returncode == 1, err(result)
        assert "DX404" in result.stdout.decode()
    else:
        assert result.returncode == 2 and result.stdout == b""
        assert "host snapshot support" in err(result)
    assert capabilities.exists()


CAPABILITIES = """<capabilities>
  <host>
    <uuid>00000000-0000-0000-0000-000000000000</uuid>
    <cpu><arch>x86_64</arch></cpu>
  </host>
</capabilities>
"""


# -- rule options (through a real plugin entry point) ------------------------------------------

LIMIT_PLUGIN = '''
from domxml_lint import hookimpl, rule


@rule(code="LIM001", name="lim-vcpu-limit", severity="error", summary="Too many vCPUs",
      triggers=("vcpu",), options={"max-vcpus": 16, "message": "too many"})
def vcpu_limit(ctx):
    """
    ## What it does
    Limits vCPUs.
    """
    if ctx.facts.vcpu_count > ctx.option("max-vcpus"):
        yield ctx.finding(ctx.facts.root.find("vcpu"), ctx.option("message"))


@hookimpl
def domxml_lint_rules():
    return [vcpu_limit]
'''


@pytest.fixture
def limit_plugin(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_dist_info(site, "lim_rules", LIMIT_PLUGIN)
    return {"PYTHONPATH": str(site)}


def test_rule_options_reach_the_rule(tmp_path, limit_plugin):
    project = tmp_path / "p"
    write(project, "vm.xml", NATIVE.replace("<vcpu>2</vcpu>", "<vcpu>4</vcpu>"))
    toml(
        project,
        "pyproject.toml",
        """
        [tool.domxml-lint]
        select = ["LIM001"]
        [tool.domxml-lint.rule-options.lim-vcpu-limit]
        max-vcpus = 2
        message = "ACME allows 2"
    """,
    )
    result = run_cli(str(project), env=limit_plugin)
    assert result.returncode == 1 and b"LIM001 ACME allows 2 (lim-vcpu-limit)" in result.stdout
    toml(
        project,
        "pyproject.toml",
        """
        [tool.domxml-lint]
        select = ["LIM001"]
        [tool.domxml-lint.rule-options.LIM001]
        max-vcpus = 8
    """,
    )
    assert run_cli(str(project), env=limit_plugin).returncode == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[rule-options.lim-vcpu-limit]\nmax-vcpu = 2\n",
            "rule-options.lim-vcpu-limit: unknown option 'max-vcpu'; did you mean 'max-vcpus'? "
            "(lim-vcpu-limit has: max-vcpus, message)",
        ),
        (
            '[rule-options.lim-vcpu-limit]\nmax-vcpus = "2"\n',
            "rule-options.lim-vcpu-limit: max-vcpus must be an integer like the default 16, "
            "not '2'",
        ),
        (
            "[rule-options.lim-vcpu-limt]\nmax-vcpus = 2\n",
            "rule-options: unknown rule 'lim-vcpu-limt'; did you mean 'lim-vcpu-limit'?",
        ),
        (
            "[rule-options.disk-cache-unsafe]\nx = 1\n",
            "rule-options.disk-cache-unsafe: DX401 (disk-cache-unsafe) has no options",
        ),
    ],
)
def test_rule_option_errors(tmp_path, limit_plugin, text, message):
    config = toml(tmp_path, "domxml-lint.toml", text)
    write(tmp_path, "vm.xml", NATIVE)
    result = run_cli(str(tmp_path), env=limit_plugin)
    assert result.returncode == 2 and result.stdout == b""
    assert err(result) == f"domxml-lint: error: {config}: {message}\n"


# -- broken configs: one line, naming the file and the problem, exit 2 ------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("domxml-lint.toml", 'selct = ["DX4"]\n', "unknown key 'selct'; did you mean 'select'?"),
        (
            "domxml-lint.toml",
            "per_file_ignores = {}\n",
            "unknown key 'per_file_ignores'; did you mean 'per-file-ignores'?",
        ),
        (
            "domxml-lint.toml",
            'select = ["DX4O1"]\n',
            "select: unknown rule selector 'DX4O1'; did you mean 'DX401'?",
        ),
        (
            "domxml-lint.toml",
            'ignore = ["disk-cache-unsaf"]\n',
            "ignore: unknown rule selector 'disk-cache-unsaf'; did you mean 'disk-cache-unsafe'?",
        ),
        (
            "domxml-lint.toml",
            'select = "DX4"\n',
            'select must be a list of strings, e.g. select = ["DX4"]',
        ),
        (
            "domxml-lint.toml",
            'fail-on = "warn"\n',
            "fail-on must be one of info, warning, error, not 'warn'; did you mean 'warning'?",
        ),
        (
            "domxml-lint.toml",
            'unsafe-fixes = "yes"\n',
            "unsafe-fixes must be true or false, not 'yes'",
        ),
        (
            "domxml-lint.toml",
            '[per-file-ignores]\n"*.xml" = "DX4"\n',
            "per-file-ignores '*.xml' must be a list of rules",
        ),
        (
            "domxml-lint.toml",
            '[per-file-ignores]\n"*.xml" = ["DX0999"]\n',
            "per-file-ignores '*.xml': unknown rule selector 'DX0999'",
        ),
        (
            "domxml-lint.toml",
            '[per-file-ignores]\n"[ab.xml" = ["DX4"]\n',
            "per-file-ignores: unclosed '[' in pattern '[ab.xml'",
        ),
        (
            "domxml-lint.toml",
            '[tool.domxml-lint]\nselect = ["DX4"]\n',
            "unknown key 'tool'; in domxml-lint.toml write the keys at top level",
        ),
        ("domxml-lint.toml", 'select = ["DX4"\n', "invalid TOML: "),
        (
            "pyproject.toml",
            '[tool.domxml_lint]\nselect = ["DX4"]\n',
            "found [tool.domxml_lint]; did you mean [tool.domxml-lint]?",
        ),
        (
            "pyproject.toml",
            "[tool.domxml-lint]\nhost = 3\n",
            "[tool.domxml-lint]: host must be a path or a list of paths",
        ),
    ],
)
def test_broken_config_is_one_clear_line(tmp_path, name, text, message):
    config = toml(tmp_path, name, text)
    target = write(tmp_path, "vm.xml", NATIVE)
    result = run_cli(str(target), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == b"", "nothing is linted with a broken config"
    lines = err(result).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"domxml-lint: error: {config.name}")
    assert message in lines[0]


def test_invalid_toml_names_the_line(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX4"]\nfail-on = \n')
    write(tmp_path, "vm.xml", NATIVE)
    result = run_cli(str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "(at line 2, column" in err(result)


def test_config_flag_errors(tmp_path):
    missing = run_cli("--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert missing.returncode == 2 and "config file not found" in err(missing)
    bare = toml(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    result = run_cli("--config", str(bare), str(tmp_path))
    assert result.returncode == 2 and "has no [tool.domxml-lint] table" in err(result)
    both = run_cli("--config", str(bare), "--no-config", str(tmp_path))
    assert both.returncode == 2 and "not allowed with" in err(both)


# -- units --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.xml", "vm.xml", True),
        ("legacy/*.xml", "legacy/vm.xml", True),
        ("legacy/*.xml", "legacy/sub/vm.xml", False),
        ("legacy/**/*.xml", "legacy/sub/vm.xml", True),
        ("legacy/**/*.xml", "legacy/vm.xml", True),
        ("**/vm.xml", "vm.xml", True),
        ("vm-[0-9].xml", "vm-7.xml", True),
        ("vm-[!0-9].xml", "vm-7.xml", False),
        ("vm?.xml", "vm/.xml", False),
    ],
)
def test_glob_regex(pattern, path, matches):
    assert bool(glob_regex(pattern).fullmatch(path)) is matches


def test_resolver_caches_each_directory(tmp_path, monkeypatch):
    toml(tmp_path, "domxml-lint.toml", 'select = ["DX401"]\n')
    resolver = ConfigResolver(load_ruleset(entry_points=False), cwd=str(tmp_path))
    first = resolver.for_path(str(tmp_path / "a" / "b" / "vm.xml"))
    assert first.select == ("DX401",)
    (tmp_path / "domxml-lint.toml").unlink()
    assert resolver.for_path(str(tmp_path / "a" / "c.xml")) is first, "read once per run"
    with pytest.raises(UsageError, match="config file not found"):
        ConfigResolver(load_ruleset(entry_points=False), config_file=str(tmp_path / "x.toml"))
