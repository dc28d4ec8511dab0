"""Which files a run checks: exclude, extend-exclude, .gitignore, --force-exclude, and a
config that extends another (issue 18: what ruff users look for)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from helpers import run_cli
from samples import CORE, NATIVE, write


def toml(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def files(*args: str, cwd: Path) -> list[str]:
    result = run_cli("--show-files", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


def linted(*args: str, cwd: Path) -> set[str]:
    result = run_cli("--select", CORE, "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return {record["filename"] for record in json.loads(result.stdout)}


@pytest.fixture
def tree(tmp_path):
    for name in ("vms/web.xml", "vms/legacy/old.xml", "vms/lab/test.xml", "other/db.xml"):
        write(tmp_path / Path(name).parent, Path(name).name, NATIVE)
    write(tmp_path / ".hidden", "secret.xml", NATIVE)
    return tmp_path


# -- exclude and extend-exclude ----------------------------------------------------------------


def test_hidden_directories_are_excluded_by_default(tree):
    assert files(".", cwd=tree) == [
        "./other/db.xml",
        "./vms/lab/test.xml",
        "./vms/legacy/old.xml",
        "./vms/web.xml",
    ]


def test_extend_exclude_in_the_config_adds_to_the_default(tree):
    toml(tree, "domxml-lint.toml", 'extend-exclude = ["legacy/", "vms/lab"]\n')
    assert files(".", cwd=tree) == ["./other/db.xml", "./vms/web.xml"]
    assert linted(".", cwd=tree) == {"./other/db.xml", "./vms/web.xml"}


def test_exclude_replaces_the_default(tree):
    toml(tree, "domxml-lint.toml", 'exclude = ["other"]\n')
    assert files(".", cwd=tree) == [
        "./.hidden/secret.xml",
        "./vms/lab/test.xml",
        "./vms/legacy/old.xml",
        "./vms/web.xml",
    ]


def test_command_line_excludes_are_relative_to_the_current_directory(tree):
    assert files("--extend-exclude", "legacy/,web.xml", "vms", cwd=tree) == ["vms/lab/test.xml"]
    assert files("--exclude", "lab", ".", cwd=tree / "vms") == [
        "./legacy/old.xml",
        "./web.xml",
    ]
    # An anchored pattern names a path below the current directory, not any "lab".
    assert "vms/lab/test.xml" in files("--extend-exclude", "lab/test.xml", "vms", cwd=tree)


def test_patterns_in_a_nested_config_are_relative_to_it(tree):
    toml(tree / "vms", "domxml-lint.toml", 'extend-exclude = ["legacy/old.xml"]\n')
    assert files(".", cwd=tree) == ["./other/db.xml", "./vms/lab/test.xml", "./vms/web.xml"]


def test_files_given_by_name_are_checked_unless_force_exclude(tree):
    toml(tree, "domxml-lint.toml", 'extend-exclude = ["legacy/"]\n')
    named = "vms/legacy/old.xml"
    assert files(named, cwd=tree) == [named]
    assert files("--force-exclude", named, "vms/web.xml", cwd=tree) == ["vms/web.xml"]
    toml(tree, "domxml-lint.toml", 'extend-exclude = ["legacy/"]\nforce-exclude = true\n')
    assert linted(named, "vms/web.xml", cwd=tree) == {"vms/web.xml"}
    assert files("--no-force-exclude", named, cwd=tree) == [named]


def test_force_exclude_applies_to_the_stdin_filename(tree):
    toml(tree, "domxml-lint.toml", 'extend-exclude = ["legacy/"]\nforce-exclude = true\n')
    result = run_cli(
        "--select", CORE, "--fix", "--stdin-filename", "vms/legacy/old.xml", "-",
        cwd=tree, input=NATIVE.encode(),
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout == NATIVE.encode(), "an excluded document is echoed unchanged"
    assert result.stderr == b""


def test_verbose_says_what_was_excluded_and_why(tree):
    toml(tree, "domxml-lint.toml", 'extend-exclude = ["legacy/"]\n')
    stderr = run_cli("--select", CORE, "-v", ".", cwd=tree).stderr.decode()
    assert "excluded ./vms/legacy: 'legacy/' from domxml-lint.toml" in stderr
    assert "excluded ./.hidden: '.*/' from default" in stderr


def test_a_malformed_exclude_is_a_usage_error(tree):
    toml(tree, "domxml-lint.toml", 'exclude = "legacy"\n')
    result = run_cli(".", cwd=tree)
    assert result.returncode == 2
    assert b"exclude must be a list of globs" in result.stderr


# -- .gitignore ------------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tree):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git("init", "-q", ".", cwd=tree)
    (tree / ".gitignore").write_text("legacy/\n*.generated.xml\n")
    write(tree / "vms", "x.generated.xml", NATIVE)
    (tree / "vms" / "lab" / ".gitignore").write_text("test.xml\n")
    return tree


def test_files_git_ignores_are_skipped_when_walking(repo):
    assert files(".", cwd=repo) == ["./other/db.xml", "./vms/web.xml"]
    assert files("vms", cwd=repo / ".") == ["vms/web.xml"]


def test_no_respect_gitignore_checks_them(repo):
    assert files("--no-respect-gitignore", ".", cwd=repo) == [
        "./other/db.xml",
        "./vms/lab/test.xml",
        "./vms/legacy/old.xml",
        "./vms/web.xml",
        "./vms/x.generated.xml",
    ]
    toml(repo, "domxml-lint.toml", "respect-gitignore = false\n")
    assert len(files(".", cwd=repo)) == 5


def test_a_file_git_ignores_is_checked_when_named(repo):
    assert files("vms/legacy/old.xml", cwd=repo) == ["vms/legacy/old.xml"]


def test_a_tracked_file_is_not_ignored(repo):
    git("add", "-f", "vms/lab/test.xml", cwd=repo)
    assert "./vms/lab/test.xml" in files(".", cwd=repo)


def test_outside_a_work_tree_nothing_is_ignored(tree):
    (tree / ".gitignore").write_text("vms/\n")
    assert len(files(".", cwd=tree)) == 4


# -- extend ----------------------------------------------------------------------------------


def test_extend_inherits_and_overrides(tmp_path):
    toml(
        tmp_path,
        "domxml-lint.toml",
        """
        select = ["DX4"]
        fail-on = "error"
        extend-exclude = ["legacy/"]
        [per-file-ignores]
        "lab/*.xml" = ["DX404"]
        """,
    )
    toml(
        tmp_path / "team",
        "domxml-lint.toml",
        """
        extend = "../domxml-lint.toml"
        ignore = ["DX401"]
        extend-exclude = ["scratch/"]
        """,
    )
    settings = json.loads(
        run_cli("--show-settings", "--output-format", "json", "team/vm.xml", cwd=tmp_path).stdout
    )
    assert settings["config"] == str(tmp_path / "team" / "domxml-lint.toml")
    assert settings["extends"] == [str(tmp_path / "domxml-lint.toml")]
    assert settings["selection"][:2] == [
        {"from": "domxml-lint.toml", "select": ["DX4"]},
        {"from": "team/domxml-lint.toml", "ignore": ["DX401"]},
    ]
    rules = [r.split()[0] for r in settings["rules"]]
    assert "DX404" in rules and "DX401" not in rules and "DX101" not in rules
    assert settings["fail-on"] == "error"
    assert [e.split()[0] for e in settings["exclude"]] == [".*/", "legacy/", "scratch/"]
    # The extended file's per-file-ignores stay relative to its own directory.
    write(tmp_path / "team" / "lab", "vm.xml", NATIVE)
    write(tmp_path / "lab", "vm.xml", NATIVE)
    assert linted("team/lab/vm.xml", "lab/vm.xml", cwd=tmp_path) == {"team/lab/vm.xml"}


def test_a_key_the_extending_file_sets_wins(tmp_path):
    toml(tmp_path, "base.toml", 'fail-on = "error"\nunsafe-fixes = true\n')
    toml(tmp_path / "sub", "domxml-lint.toml", 'extend = "../base.toml"\nfail-on = "info"\n')
    settings = json.loads(
        run_cli("--show-settings", "--output-format", "json", "sub/x.xml", cwd=tmp_path).stdout
    )
    assert settings["fail-on"] == "info" and settings["unsafe-fixes"] is True


def test_extend_cycles_are_an_error(tmp_path):
    toml(tmp_path, "a.toml", 'extend = "b.toml"\n')
    toml(tmp_path, "b.toml", 'extend = "a.toml"\n')
    result = run_cli("--config", "a.toml", "--show-settings", "x.xml", cwd=tmp_path)
    assert result.returncode == 2
    assert b"extend makes a cycle (a.toml -> b.toml -> a.toml)" in result.stderr


def test_extending_a_missing_file_names_it(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'extend = "nope.toml"\n')
    result = run_cli("x.xml", cwd=tmp_path)
    assert result.returncode == 2
    assert b"extend: 'nope.toml' not found" in result.stderr


# -- --show-settings ---------------------------------------------------------------------------


def test_show_settings_names_everything_that_decides_a_run(tmp_path):
    toml(tmp_path, "domxml-lint.toml", 'extend-select = ["DX801"]\noutput-format = "full"\n')
    write(tmp_path / "vms", "web.xml", NATIVE)
    result = run_cli("--show-settings", "--unsafe-fixes", "vms", cwd=tmp_path)
    assert result.returncode == 0
    text = result.stdout.decode()
    assert text.startswith("Settings for vms/web.xml\n")
    for line in (
        f"  config: {tmp_path / 'domxml-lint.toml'}",
        "  fail-on: warning",
        "  unsafe-fixes: true",
        "  output-format: full",
        "  respect-gitignore: true",
        "  exclude: .*/ (default)",
    ):
        assert line in text.splitlines(), text
    assert "DX801 migration-unsafe-cache" in text
