"""Third-party rule plugins through real entry points (a dist-info directory on sys.path)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import RULE_FIXTURES, run_cli

PLUGIN = '''
from domxml_lint import hookimpl, rule


@rule(code="ACME001", name="acme-needs-description", severity="warning",
      summary="Every guest needs a <description>", triggers=None)
def needs_description(ctx):
    """
    ## What it does
    Asks for a description.
    """
    if ctx.facts.root.find("description") is None:
        yield ctx.finding(ctx.facts.root, "guest has no <description>")


@hookimpl
def domxml_lint_rules():
    return [needs_description]
'''


def install_dist_info(site: Path, module: str, source: str, entry: str | None = None) -> None:
    """What `pip install` leaves behind: a module plus a dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[domxml_lint]\n{module} = {entry or module}\n")
    (info / "RECORD").write_text("")


def test_installed_plugin_rule_runs(tmp_path):
    install_dist_info(tmp_path, "acme_rules", PLUGIN)
    target = RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"
    env = {"PYTHONPATH": str(tmp_path)}
    result = run_cli("--select", "ACME001,DX401", str(target), env=env)
    assert result.returncode == 1, result.stderr
    assert b"ACME001 guest has no <description> (acme-needs-description)" in result.stdout
    # not selected: the default selection does not include other plugins' rules by name
    listing = run_cli("--select", "acme-needs-description", str(target), env=env)
    assert b"ACME001" in listing.stdout
    # without the plugin on the path the selector is unknown
    missing = run_cli("--select", "ACME001", str(target))
    assert missing.returncode == 2 and b"unknown rule selector 'ACME001'" in missing.stderr


def test_plugin_claiming_a_builtin_code_is_refused(tmp_path):
    install_dist_info(tmp_path, "clash_rules", PLUGIN.replace("ACME001", "DX401"))
    result = run_cli(
        str(RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"), env={"PYTHONPATH": str(tmp_path)}
    )
    assert result.returncode == 2
    assert b"two rules claim 'DX401'" in result.stderr


def test_broken_plugin_is_named(tmp_path):
    install_dist_info(tmp_path, "broken_rules", "raise RuntimeError('plugin exploded')\n")
    result = run_cli(
        str(RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"), env={"PYTHONPATH": str(tmp_path)}
    )
    assert result.returncode == 2
    assert (
        b"cannot load a domxml_lint plugin" in result.stderr and b"plugin exploded" in result.stderr
    )


def test_entry_point_scan_agrees_with_importlib_metadata():
    """The fast sys.path scan finds what importlib.metadata finds, for a busy real group."""
    from importlib.metadata import entry_points as metadata_entry_points

    from domxml_lint.plugins import entry_points

    for group in ("console_scripts", "domxml_lint"):
        expected = {(ep.name, ep.value) for ep in metadata_entry_points(group=group)}
        assert {(name, value) for _, name, value in entry_points(group)} == expected
    assert ("domxml-lint", "domxml_lint.cli:run") in {
        (name, value) for _, name, value in entry_points("console_scripts")
    }


def test_a_rule_url_must_be_a_web_address():
    from domxml_lint import rule

    with pytest.raises(ValueError, match="must be an http:// or https:// address"):
        rule(code="ACME009", name="acme-x", severity="info", summary="x", url="acme.example/x")
