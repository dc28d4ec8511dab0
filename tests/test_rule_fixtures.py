"""Every built-in rule against its fixtures in fixtures/xml/rules/<rule-name>/.

Convention, per rule directory:
- ``trigger*.xml``: must produce at least one finding of the rule;
- ``clean*.xml``: must produce none of the rule;
- ``trigger*.fixed.xml``: for a rule with a fix, the exact bytes after fixing
  that trigger with only this rule selected (unsafe fixes included); a trigger
  named ``*-no-fix.xml`` is one where the rule must offer no fix;
- ``hosts.txt`` (optional): host snapshot files, relative to fixtures/xml/hosts,
  one per line, loaded for every fixture of the directory; ``<fixture>.hosts.txt``
  (``trigger-x.hosts.txt`` beside ``trigger-x.xml``) replaces it for one fixture, for
  rules whose trigger and clean cases need different hosts;
- ``select.txt`` (optional): more rules to run beside this one, one per line
  (unused-suppression needs the rules its comments name);
- ``versions.txt`` (optional): ``libvirt-version = 9.0.0`` / ``qemu-version = 3.1.0``
  lines, for rules whose check follows the release; ``<fixture>.versions.txt`` replaces
  it for one fixture (a capability check's trigger for an old QEMU beside a clean case);
- ``findings.snap``: every finding of those rules on every fixture (line, column,
  code and message), so that a change of wording or position is a reviewed diff.
  Rewrite it with ``python -m pytest tests/test_rule_fixtures.py --update-snapshots``.

A plan rule (every guest of a host at once) has directories instead of files:
``trigger-<case>/`` and ``clean-<case>/``, each holding the guests of one host
(``*.xml``), linted together with :func:`domxml_lint.lint_host`; a case's own
``hosts.txt`` replaces the rule's. Its snapshot lists the findings per file of
each case, including findings about the host (under the snapshot's name).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from domxml_lint.api import build_linter, lint_host
from domxml_lint.document import Document
from domxml_lint.fixer import fix_document
from domxml_lint.planrules import PlanRule
from domxml_lint.plugins import load_ruleset
from domxml_lint.rule import DOC_SECTIONS
from domxml_lint.schema import locate_schema
from helpers import HOSTS, IN_CI, RULE_FIXTURES, assert_changes_within

BUILTIN = [r for r in load_ruleset(entry_points=False) if r.origin == "domxml_lint"]


def _fixtures(rule_name: str, prefix: str) -> list[Path]:
    """A rule's fixture files, or a plan rule's case directories."""
    directory = RULE_FIXTURES / rule_name
    found = [
        p
        for p in directory.glob(f"{prefix}*")
        if (p.is_dir() or p.suffix == ".xml") and not p.name.endswith(".fixed.xml")
    ]
    return sorted(found)


def _load_listing(listing: Path):
    from domxml_lint.host import load_host

    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    return load_host(*(HOSTS / name for name in names))


@cache
def _host_for(rule_name: str, fixture: str | None = None):
    """The host of a fixture: its own ``hosts.txt`` (a fixture's ``NAME.hosts.txt``, a plan
    case's ``hosts.txt``), else the rule directory's; None without either."""
    directory = RULE_FIXTURES / rule_name
    if fixture is not None:
        path = directory / fixture
        own = path / "hosts.txt" if path.is_dir() else path.with_name(path.stem + ".hosts.txt")
        if own.exists():
            return _load_listing(own)
    listing = directory / "hosts.txt"
    return _load_listing(listing) if listing.exists() else None


def _selection(rule_name: str) -> list[str]:
    listing = RULE_FIXTURES / rule_name / "select.txt"
    extra = listing.read_text().split() if listing.exists() else []
    return [rule_name, *extra]


def _versions(rule_name: str, fixture: str | None = None) -> dict[str, str]:
    """``versions.txt``: ``libvirt-version = 9.0.0`` / ``qemu-version = 3.1.0`` lines (a
    fixture's ``NAME.versions.txt`` first)."""
    listing = RULE_FIXTURES / rule_name / "versions.txt"
    if fixture is not None:
        own = RULE_FIXTURES / rule_name / (Path(fixture).stem + ".versions.txt")
        listing = own if own.exists() else listing
    if not listing.exists():
        return {}
    pairs = (line.split("=", 1) for line in listing.read_text().splitlines() if "=" in line)
    return {key.strip().replace("-", "_"): value.strip() for key, value in pairs}


def _linter(rule_name: str, fixture: str | None = None):
    return build_linter(
        select=_selection(rule_name),
        host=_host_for(rule_name, fixture),
        **_versions(rule_name, fixture),
    )


def _check(rule, path: Path) -> dict[str, list]:
    """The findings on a fixture (a file), or on a plan case (a directory), per file."""
    if path.is_dir():
        guests = sorted(path.glob("*.xml"))
        host = _host_for(rule.name, path.name)
        found = lint_host(guests, host=host, select=_selection(rule.name), **_versions(rule.name))
        return {_short(name): findings for name, findings in sorted(found.items())}
    doc = Document.parse(path.read_bytes(), str(path))
    return {path.name: _linter(rule.name, path.name).check(doc).findings}


def _short(name: str) -> str:
    """A file of a plan case as the snapshot names it: relative to the rule fixtures (its
    case directory and name) or to the host snapshots."""
    for base in (RULE_FIXTURES, HOSTS.parent):
        try:
            return str(Path(name).resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return name


def _cases(prefix: str):
    return [
        pytest.param(r, path, id=f"{r.code}-{r.name}/{path.name}")
        for r in BUILTIN
        for path in _fixtures(r.name, prefix)
    ]


@pytest.mark.parametrize("rule", BUILTIN, ids=lambda r: f"{r.code}-{r.name}")
def test_rule_has_fixtures_and_docs(rule):
    assert _fixtures(rule.name, "trigger"), f"fixtures/xml/rules/{rule.name}/trigger*.xml missing"
    assert _fixtures(rule.name, "clean"), f"fixtures/xml/rules/{rule.name}/clean*.xml missing"
    for section in DOC_SECTIONS:
        assert rule.section(section), f"{rule.code} doc lacks a '## {section}' section"
    assert rule.code.startswith("DX") and len(rule.code) == 5


@pytest.mark.parametrize("rule,path", _cases("trigger"))
def test_trigger_fixture_fires(rule, path):
    if rule.name == "schema-invalid" and locate_schema().directory is None:
        # Validation needs libvirt's schemas: the shared corpus's, or this machine's.
        if IN_CI:
            pytest.fail("CI=true but no libvirt schema is found for schema-invalid")
        pytest.skip("no libvirt schema on this machine and no shared corpus")
    assert path.is_dir() == isinstance(rule, PlanRule), "plan rules take case directories"
    findings = [f for found in _check(rule, path).values() for f in found]
    assert any(f.code == rule.code for f in findings), f"{rule.code} did not fire on {path.name}"
    for finding in findings:
        if finding.fix is not None:
            assert finding.fix.applicability is rule.fix


@pytest.mark.parametrize("rule,path", _cases("clean"))
def test_clean_fixture_is_clean(rule, path):
    assert path.is_dir() == isinstance(rule, PlanRule), "plan rules take case directories"
    findings = [f for found in _check(rule, path).values() for f in found if f.code == rule.code]
    assert not findings, "\n".join(f"{f.line}:{f.column} {f.message}" for f in findings)


def _snapshot(rule) -> str:
    """The findings of the rule's linter on each of its fixtures, one per line."""
    lines = [
        f"# {rule.code} {rule.name}: the findings on each fixture (tests/test_rule_fixtures.py)"
    ]
    for path in [*_fixtures(rule.name, "trigger"), *_fixtures(rule.name, "clean")]:
        for name, findings in _check(rule, path).items():
            lines.append(f"{name}:")
            for f in findings:
                lines.append(f"  {f.line}:{f.column} {f.code} {f.message}")
                lines += [f"    see also {_short(r.path)}:{r.line}: {r.message}" for r in f.related]
            if not findings:
                lines.append("  (none)")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("rule", BUILTIN, ids=lambda r: f"{r.code}-{r.name}")
def test_findings_match_snapshot(rule, update_snapshots):
    path = RULE_FIXTURES / rule.name / "findings.snap"
    actual = _snapshot(rule)
    if update_snapshots:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run pytest with --update-snapshots and review it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"findings differ from {path.relative_to(RULE_FIXTURES.parent.parent.parent)}; if the "
        "change is intended, run `python -m pytest tests/test_rule_fixtures.py "
        "--update-snapshots` and review the diff"
    )


def _fixed_cases():
    """Triggers of rules with a fix, but ``*-no-fix.xml`` ones: the rule offers none there."""
    cases = [c for c in _cases("trigger") if c.values[0].fix is not None]
    return [c for c in cases if "-no-fix" not in c.values[1].name]


@pytest.mark.parametrize(
    "rule,path",
    [c for c in _cases("trigger") if "-no-fix" in c.values[1].name],
)
def test_no_fix_fixture_fires_without_a_fix(rule, path):
    doc = Document.parse(path.read_bytes(), str(path))
    mine = [f for f in _linter(rule.name, path.name).check(doc).findings if f.code == rule.code]
    assert mine and all(f.fix is None for f in mine)


@pytest.mark.parametrize("rule,path", _fixed_cases())
def test_fix_matches_snapshot_and_is_minimal(rule, path):
    original = path.read_bytes()
    expected_path = path.with_name(path.stem + ".fixed.xml")
    assert expected_path.exists(), f"{expected_path.name} (expected fix output) missing"
    linter = _linter(rule.name, path.name)
    doc = Document.parse(original, str(path))
    first_edits = [
        e
        for f in linter.check(doc).findings
        if f.code == rule.code and f.fix is not None
        for e in f.fix.edits
    ]
    result = fix_document(doc, linter, unsafe=True)
    assert result.applied, "no fix was applied"
    assert result.data == expected_path.read_bytes(), (
        f"fixed output differs from {expected_path.name}:\n{result.output}"
    )
    assert_changes_within(original, result.data, first_edits)
    assert not [f for f in result.remaining if f.code == rule.code and f.fix is not None]
    again = fix_document(Document.parse(result.data, str(path)), linter, unsafe=True)
    assert not again.changed, "a second fix run changed the file again"
