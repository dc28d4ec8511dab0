"""The configuration's JSON schema (domxml-lint.schema.json): complete, exact, and true to the
README's examples (issue 18)."""

from __future__ import annotations

import json
import re
import tomllib

import jsonschema
import pytest

from domxml_lint.config import KEYS, OUTPUT_FORMATS
from domxml_lint.output import FORMATS
from helpers import REPO, run_cli

SCHEMA = json.loads((REPO / "domxml-lint.schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def test_the_schema_is_a_valid_draft_7_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_key_the_loader_accepts_is_in_the_schema_and_no_other():
    assert set(SCHEMA["properties"]) == set(KEYS)
    assert SCHEMA["additionalProperties"] is False


def test_enums_match_the_loader():
    assert SCHEMA["properties"]["fail-on"]["enum"] == ["info", "warning", "error"]
    assert SCHEMA["properties"]["output-format"]["enum"] == list(OUTPUT_FORMATS) == list(FORMATS)


def readme_configs() -> list[tuple[str, dict]]:
    """Every TOML block of the README that configures domxml-lint: its settings."""
    readme = (REPO / "README.md").read_text()
    found = []
    for block in re.findall(r"```toml\n(.*?)```", readme, re.S):
        document = tomllib.loads(block)
        if "tool" in document:
            if "domxml-lint" in document["tool"]:
                found.append(("pyproject.toml", document["tool"]["domxml-lint"]))
        elif "project" not in document and "language-server" not in document:  # not Helix's
            found.append(("domxml-lint.toml", document))
    return found


def test_the_readme_has_example_configs():
    names = [name for name, _ in readme_configs()]
    assert "pyproject.toml" in names and "domxml-lint.toml" in names


@pytest.mark.parametrize("name,settings", readme_configs())
def test_readme_example_configs_validate(name, settings):
    VALIDATOR.validate(settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"selct": ["DX4"]},
        {"fail-on": "warn"},
        {"select": "DX4"},
        {"unsafe-fixes": "yes"},
        {"exclude": "legacy/"},
        {"output-format": "pretty"},
        {"extend": 3},
    ],
)
def test_what_the_loader_refuses_the_schema_refuses(tmp_path, settings):
    assert not VALIDATOR.is_valid(settings)
    lines = []
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    (tmp_path / "domxml-lint.toml").write_text("\n".join(lines) + "\n")
    (tmp_path / "vm.xml").write_text("<domain type='kvm'><name>x</name></domain>")
    result = run_cli("vm.xml", cwd=tmp_path)
    assert result.returncode == 2 and b"domxml-lint.toml" in result.stderr
