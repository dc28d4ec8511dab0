"""The library API, used as a script would use it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import domxml_lint
from domxml_lint import Finding, NotADomainError, Severity
from helpers import REPO, RULE_FIXTURES

TRIGGER = RULE_FIXTURES / "disk-cache-unsafe" / "trigger.xml"


def test_lint_accepts_path_str_bytes_and_text():
    by_path = domxml_lint.lint(TRIGGER)
    assert by_path == domxml_lint.lint(str(TRIGGER))
    data = TRIGGER.read_bytes()
    assert [f.code for f in domxml_lint.lint(data)] == [f.code for f in by_path]
    assert [f.code for f in domxml_lint.lint(data.decode())] == [f.code for f in by_path]
    finding = next(f for f in by_path if f.code == "DX401")
    assert isinstance(finding, Finding)
    assert (finding.severity, finding.line, finding.column) == (Severity.ERROR, 11, 40)
    assert finding.path == "/domain/devices/disk/driver"
    assert finding.fix is not None and not finding.fix.is_safe


def test_fix_returns_output_applied_remaining():
    result = domxml_lint.fix(TRIGGER, unsafe=True, select=["DX401"])
    assert "cache='none'" in result.output and result.changed
    assert [f.code for f in result.applied] == ["DX401"]
    assert result.remaining == ()
    safe_only = domxml_lint.fix(TRIGGER, select="DX401")
    assert not safe_only.changed and [f.code for f in safe_only.remaining] == ["DX401"]


def test_not_a_domain():
    with pytest.raises(NotADomainError, match="<network>"):
        domxml_lint.lint("<network><name>default</name></network>")


def test_api_imports_without_libvirt():
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "libvirt" or name.startswith("libvirt."):
                    raise ImportError("libvirt blocked for this test")
        sys.meta_path.insert(0, Block())
        import domxml_lint
        found = domxml_lint.lint(sys.argv[1])
        assert "libvirt" not in sys.modules
        print(len(found))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(TRIGGER)], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 1
