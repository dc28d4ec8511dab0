"""Info findings are advice: shown, but they do not fail a run by default (issue 18, noise).

ruff has no severities (every finding fails), hadolint fails on info and above
unless --failure-threshold says otherwise, yamllint exits 0 on warnings unless
--strict. domxml-lint's info findings are advice a guest libvirt accepts can
do without, so a pre-commit hook must pass on them out of the box.
"""

from __future__ import annotations

import json

from domxml_lint.config import DEFAULT_FAIL_ON
from domxml_lint.findings import Severity
from helpers import FIXTURES, run_cli

SCHEMA = FIXTURES.parent.parent / "domxml-lint.schema.json"

# A guest libvirt accepts whose only finding is advice: one queue pair for 4 vCPUs (DX502).
ADVICE = """<domain type='kvm'>
  <name>advice</name>
  <memory unit='GiB'>4</memory>
  <vcpu>4</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""


def test_the_default_is_warning():
    assert DEFAULT_FAIL_ON is Severity.WARNING
    assert json.loads(SCHEMA.read_text())["properties"]["fail-on"]["default"] == "warning"


def test_info_findings_are_shown_but_do_not_fail(tmp_path):
    (tmp_path / "vm.xml").write_text(ADVICE)
    result = run_cli("--no-config", "vm.xml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert b"DX502" in result.stdout
    assert run_cli("--no-config", "--fail-on", "info", "vm.xml", cwd=tmp_path).returncode == 1
    (tmp_path / "domxml-lint.toml").write_text('fail-on = "info"\n')
    assert run_cli("vm.xml", cwd=tmp_path).returncode == 1


def test_warnings_and_errors_still_fail(tmp_path):
    (tmp_path / "vm.xml").write_text(
        ADVICE.replace(
            "<vcpu>4</vcpu>", "<vcpu>4</vcpu>\n  <memoryBacking><locked/></memoryBacking>"
        )
    )
    result = run_cli("--no-config", "--output-format", "json", "vm.xml", cwd=tmp_path)
    severities = {f["severity"] for f in json.loads(result.stdout)}
    assert "warning" in severities or "error" in severities
    assert result.returncode == 1
