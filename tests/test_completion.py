"""Shell completion, generated from the argparse parsers so that it cannot go stale (issue 18)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from domxml_lint import cli, lsp
from domxml_lint.completion import commands
from domxml_lint.host import cli as host_cli
from helpers import IN_CI, run_cli


def every_option() -> set[str]:
    parsers = [cli.build_parser(), cli.build_rule_parser(), cli.build_rules_parser()]
    parsers.append(lsp.build_parser())
    host = host_cli.build_parser()
    parsers.append(host)
    for action in host._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            parsers += list(action.choices.values())
    return {
        flag for parser in parsers for action in parser._actions for flag in action.option_strings
    }


@pytest.fixture(scope="module", params=["bash", "zsh", "fish"])
def script(request):
    result = run_cli("completion", request.param)
    assert result.returncode == 0, result.stderr
    return request.param, result.stdout.decode()


def test_every_option_and_subcommand_is_in_the_script(script):
    shell, text = script
    for option in every_option():
        name = option if shell != "fish" else option.lstrip("-")
        assert name in text, f"{shell}: {option} missing"
    for subcommand in (*cli.SUBCOMMANDS, "snapshot", "show"):
        assert subcommand in text, f"{shell}: {subcommand} missing"
    for fmt in ("full", "concise", "gitlab", "rdjson"):
        assert fmt in text
    assert "DX401" in text and "disk-cache-unsafe" in text, "rule codes and names"


def test_the_model_covers_every_parser():
    found = {c.words for c in commands()}
    assert {(), ("check",), ("rule",), ("rules",), ("host",), ("completion",), ("server",)} <= found
    assert {("host", "snapshot"), ("host", "show")} <= found


def shell_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"CI=true but {name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def test_the_script_parses(script, tmp_path):
    shell, text = script
    path = tmp_path / f"completion.{shell}"
    path.write_text(text)
    check = {"bash": ["-n"], "zsh": ["-n"], "fish": ["--no-execute"]}[shell]
    result = subprocess.run([shell_or_skip(shell), *check, str(path)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


BASH_CASES = [
    (["--output-f"], {"--output-format", "--output-file"}),
    (["--output-format", "ful"], {"full"}),
    (["--fail-on", "w"], {"warning"}),
    (["rule", "DX40"], {f"DX40{i}" for i in range(1, 10)}),
    (["host", "s"], {"snapshot", "show"}),
    (["host", "snapshot", "--v"], {"--via"}),
    (["completion", "f"], {"fish"}),
    (["c"], {"check", "completion"}),
    (["--extend-exclude", "x"], set()),
    (["--no-respect"], {"--no-respect-gitignore"}),
]


@pytest.mark.parametrize("words,expected", BASH_CASES)
def test_bash_completes(tmp_path, words, expected):
    bash = shell_or_skip("bash")
    script_path = tmp_path / "c.bash"
    script_path.write_text(run_cli("completion", "bash").stdout.decode())
    quoted = " ".join(f"'{w}'" for w in ["domxml-lint", *words])
    program = (
        f"source {script_path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
        'COMPREPLY=(); _domxml_lint; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run([bash, "-c", program], capture_output=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.decode().split()) == expected


def test_bash_completes_xml_files_and_directories(tmp_path):
    bash = shell_or_skip("bash")
    (tmp_path / "web.xml").write_text("<domain/>")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "vms").mkdir()
    script_path = tmp_path / "c.bash"
    script_path.write_text(run_cli("completion", "bash").stdout.decode())
    program = (
        f"source {script_path}; COMP_WORDS=(domxml-lint --fix ''); COMP_CWORD=2; "
        'COMPREPLY=(); _domxml_lint; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run([bash, "-c", program], capture_output=True, cwd=tmp_path)
    assert set(result.stdout.decode().split()) == {"vms", "web.xml"}


def test_unknown_shell_is_a_usage_error():
    result = run_cli("completion", "tcsh")
    assert result.returncode == 2 and b"invalid choice: 'tcsh'" in result.stderr
