"""The example plugin package in examples/plugin-acme, really installed with pip."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from helpers import REPO, run_cli
from samples import CLEAN, UNSAFE, domain, write

pytestmark = pytest.mark.slow  # every test here installs packages or runs pre-commit

EXAMPLE = REPO / "examples" / "plugin-acme"


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory):
    """examples/plugin-acme installed by pip into a directory put on PYTHONPATH."""
    base = tmp_path_factory.mktemp("acme")
    source = base / "plugin-acme"
    shutil.copytree(EXAMPLE, source)  # pip builds in the source tree; keep the checkout clean
    site = base / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(site.glob("domxml_lint_acme-1.0.0.dist-info/entry_points.txt"))
    return {"PYTHONPATH": str(site)}


CRASHY = domain("  <on_crash>destroy</on_crash>").replace("<vcpu>2</vcpu>", "<vcpu>24</vcpu>")


def test_installed_plugin_rules_are_listed(acme_site):
    listing = run_cli("rules", "--select", "ACME", env=acme_site).stdout.decode()
    assert "ACME001  acme-description-missing" in listing
    assert "opt-in" in listing.splitlines()[2]  # ACME002


def test_installed_plugin_finds_and_fixes(acme_site, tmp_path):
    target = write(tmp_path, "vm.xml", CRASHY)
    result = run_cli("--no-config", "--extend-select", "ACME", str(target), env=acme_site)
    assert result.returncode == 1, result.stderr
    text = result.stdout.decode()
    assert f"{target}:1:1: ACME001 guest has no <description> naming its owner" in text
    assert f"{target}:4:3: ACME002 24 vCPUs is above ACME's limit of 16 (acme-vcpu-limit)" in text
    assert f"{target}:5:3: ACME003 [*] a crashed guest stays off" in text
    fixed = run_cli("--no-config", "--select", "ACME003", "--fix", str(target), env=acme_site)
    assert fixed.returncode == 0
    assert target.read_text() == CRASHY.replace(">destroy<", ">restart<")


def test_plugin_option_from_config(acme_site, tmp_path):
    write(tmp_path, "vm.xml", CRASHY)
    write(
        tmp_path,
        "pyproject.toml",
        textwrap.dedent("""
        [tool.domxml-lint]
        select = ["acme-vcpu-limit"]

        [tool.domxml-lint.rule-options.acme-vcpu-limit]
        max-vcpus = 32
    """),
    )
    assert run_cli(str(tmp_path), env=acme_site).returncode == 0
    write(
        tmp_path,
        "pyproject.toml",
        textwrap.dedent("""
        [tool.domxml-lint]
        select = ["acme-vcpu-limit"]

        [tool.domxml-lint.rule-options.acme-vcpu-limit]
        max-vcpus = 8
    """),
    )
    result = run_cli(str(tmp_path), env=acme_site)
    assert result.returncode == 1 and b"limit of 8" in result.stdout


def test_plugin_rule_docs_come_from_its_docstring(acme_site):
    page = run_cli("rule", "ACME003", env=acme_site).stdout.decode()
    assert page.startswith("# acme-on-crash-restart (ACME003)")
    assert "| Plugin | `domxml_lint_acme` |" in page and "## Fix safety" in page


def test_plugin_rules_never_enter_the_rule_reference(acme_site, tmp_path):
    result = run_cli("rules", "--check-docs", str(REPO / "rules"), env=acme_site)
    assert result.returncode == 0, result.stderr


def test_without_the_plugin_its_rules_are_unknown(tmp_path):
    write(tmp_path, "vm.xml", CLEAN)
    result = run_cli("--no-config", "--select", "ACME", str(tmp_path))
    assert result.returncode == 2 and b"unknown rule selector 'ACME'" in result.stderr


def test_readme_configuration_example_is_valid(acme_site, tmp_path):
    import re

    readme = (REPO / "README.md").read_text()
    block = next(
        b
        for b in re.findall(r"```toml\n(.*?)```", readme, re.S)
        if "[tool.domxml-lint]" in b and "per-file-ignores" in b
    )
    # host snapshots are checked elsewhere; the file named here is illustrative
    text = "\n".join(line for line in block.splitlines() if not line.startswith("host ="))
    write(tmp_path, "pyproject.toml", text)
    write(tmp_path / "legacy", "vm.xml", UNSAFE)
    result = run_cli(str(tmp_path), env=acme_site)
    assert result.returncode in (0, 1) and result.stderr == b"", result.stderr
    assert b"1 file" in result.stdout
    assert b"DX401" not in result.stdout  # "legacy/*.xml" = ["DX4"] took effect
