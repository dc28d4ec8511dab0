"""The rule reference in rules/, `domxml-lint rule` and `domxml-lint rules`."""

from __future__ import annotations

import json

from domxml_lint import docs
from domxml_lint.plugins import load_ruleset
from domxml_lint.rule import DOC_SECTIONS, rule
from helpers import REPO, run_cli

RULES_DIR = REPO / "rules"


def test_rules_folder_is_up_to_date():
    stale = docs.stale_pages(str(RULES_DIR))
    assert not stale, (
        f"rules/ is stale ({', '.join(stale)}); regenerate it with "
        "`domxml-lint rules --write-docs rules/`"
    )


def test_every_builtin_rule_has_a_complete_page():
    for item in docs.builtin_rules():
        page = (RULES_DIR / f"{item.code}-{item.name}.md").read_text()
        assert page.startswith(f"# {item.name} ({item.code})\n")
        for section in DOC_SECTIONS:
            assert f"\n## {section}\n" in page, (item.code, section)
        assert "| Needs a host snapshot | " in page
        assert "| Enabled by default | " in page
        assert f"[{item.name}]({item.code}-{item.name}.md)" in (RULES_DIR / "README.md").read_text()


def test_check_docs_and_write_docs(tmp_path):
    target = tmp_path / "rules"
    result = run_cli("rules", "--check-docs", str(target))
    assert result.returncode == 1 and b"out of date" in result.stderr
    written = run_cli("rules", "--write-docs", str(target))
    assert written.returncode == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in RULES_DIR.iterdir())
    for page in target.iterdir():
        assert page.read_bytes() == (RULES_DIR / page.name).read_bytes()
    # a page for a rule that no longer exists is removed; other files are left alone
    (target / "DX999-gone.md").write_text("old")
    (target / "NOTES.md").write_text("mine")
    assert run_cli("rules", "--check-docs", str(target)).returncode == 1
    run_cli("rules", "--write-docs", str(target))
    assert not (target / "DX999-gone.md").exists() and (target / "NOTES.md").exists()
    assert run_cli("rules", "--check-docs", str(target)).returncode == 0


def test_rule_command_prints_the_page():
    page = (RULES_DIR / "DX401-disk-cache-unsafe.md").read_text()
    by_code = run_cli("rule", "DX401")
    by_name = run_cli("rule", "disk-cache-unsafe")
    lower = run_cli("rule", "dx401")
    assert by_code.returncode == 0
    assert by_code.stdout == by_name.stdout == lower.stdout
    assert page.startswith(by_code.stdout.decode())


def test_rule_command_errors():
    unknown = run_cli("rule", "disk-cache-unsave")
    assert unknown.returncode == 2 and b"did you mean 'disk-cache-unsafe'" in unknown.stderr
    prefix = run_cli("rule", "DX4")
    assert prefix.returncode == 2 and b"prefix of several rules (DX401, DX402" in prefix.stderr


def test_rule_command_json():
    record = json.loads(run_cli("rule", "DX404", "--output-format", "json").stdout)
    assert record["code"] == "DX404" and record["fix"] == "safe"
    assert record["explanation"].startswith("## What it does")


def test_rules_lists_every_rule():
    listing = run_cli("rules").stdout.decode().splitlines()
    assert listing[0].split() == [
        "CODE",
        "NAME",
        "FAMILY",
        "BASIS",
        "SEVERITY",
        "FIX",
        "DEFAULT",
        "HOST",
        "SUMMARY",
    ]
    rows = {line.split()[0]: line.split() for line in listing[1:]}
    assert rows["DX401"][:8] == [
        "DX401",
        "disk-cache-unsafe",
        "storage",
        "guide",
        "error",
        "unsafe",
        "yes",
        "-",
    ]
    assert rows["DX404"][2:4] == ["storage", "libvirt"]
    assert rows["DX001"][2:4] == ["document", "other"]
    assert rows["DX105"][5] == "-"
    assert rows["DX413"][7] == "plan"  # a plan rule: every guest of a host together
    records = json.loads(run_cli("rules", "--output-format", "json").stdout)
    assert {r["code"] for r in records} == set(rows)
    native = next(r for r in records if r["code"] == "DX404")
    assert native == {
        "code": "DX404",
        "name": "io-native-needs-direct-cache",
        "family": "storage",
        "basis": "libvirt",
        "severity": "error",
        "default": True,
        "needs_host": False,
        "plan": False,
        "needs": [],
        "applies_to": "QEMU domains (kvm, qemu, hvf)",
        "libvirt": ["qemuValidateDomainDeviceDefDiskFrontend"],
        "fix": "safe",
        "summary": native["summary"],
        "options": {},
        "origin": "domxml_lint",
        "source_file": "src/domxml_lint/rules/dx4_storage/disk_cache.py",
        "url": "https://github.com/domxml-lint/domxml-lint/blob/main/rules/"
        "DX404-io-native-needs-direct-cache.md",
        "references": native["references"],
    }
    assert [r["url"].split("#")[-1] for r in native["references"]][-1] == (
        "hard-drives-floppy-disks-cdroms"
    )
    assert next(r for r in records if r["code"] == "DX413")["plan"] is True
    assert (REPO / native["source_file"]).is_file()
    page = run_cli("rule", "DX404").stdout.decode()
    assert "| Defined in | `src/domxml_lint/rules/dx4_storage/disk_cache.py` |" in page
    selected = run_cli("rules", "--select", "DX4", "--output-format", "json")
    expected = sorted(r.code for r in load_ruleset() if r.code.startswith("DX4"))
    assert [r["code"] for r in json.loads(selected.stdout)] == expected


def _opt_in_host_rule():
    @rule(
        code="DX299",
        name="made-up-host-rule",
        severity="info",
        default=False,
        needs_host=True,
        fix="unsafe",
        summary="Uses <numatune> | host",
        options={"max-nodes": 4, "mode": "strict"},
    )
    def made_up(ctx):
        """
        ## What it does
        Nothing.
        """
        return []

    return made_up


def test_page_says_opt_in_needs_host_and_lists_options():
    page = docs.render_rule_page(_opt_in_host_rule())
    assert "Uses `<numatune>` | host\n" in page
    assert "| Enabled by default | no, opt-in: enable it with `--extend-select DX299`" in page
    assert "| Needs a host snapshot | yes: runs only with a host snapshot" in page
    assert "| Fix | unsafe: applied by `--fix --unsafe-fixes` (review it) |" in page
    assert "| `max-nodes` | `4` |" in page and '| `mode` | `"strict"` |' in page
    assert "[tool.domxml-lint.rule-options.made-up-host-rule]" in page


def test_index_escapes_table_cells():
    index = docs.render_index([_opt_in_host_rule()])
    assert (
        "| DX299 | [made-up-host-rule](DX299-made-up-host-rule.md) | info | unsafe | opt-in "
        "| yes | "
        "Uses `<numatune>` \\| host |"
    ) in index
