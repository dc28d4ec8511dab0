"""Live libvirt domains are no files: machine formats locate them as such (issue 18, D4).

A domain is shown as ``URI/domain/NAME``; SARIF gives it a logical location
instead of a file URI (which came out as ``test%3A/x/...``, a path in the
repository), and GitHub annotations name it in the message instead of ``file=``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from helpers import require_libvirt, run_cli
from test_host_live import NODE

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def uri(tmp_path):
    require_libvirt()
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    return f"test://{node}"


def lint(uri: str, *args: str, cwd):
    return run_cli("--no-config", "--connect", uri, "--domain", "dx404", *args, cwd=cwd)


def test_sarif_gives_a_live_domain_a_logical_location(uri, tmp_path):
    done = lint(uri, "--output-format", "sarif", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    log = json.loads(done.stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    (result,) = log["runs"][0]["results"]
    (location,) = result["locations"]
    assert "physicalLocation" not in location
    domain, element = location["logicalLocations"]
    assert domain == {
        "name": "dx404",
        "fullyQualifiedName": f"{uri}/domain/dx404",
        "kind": "resource",
    }
    assert element["kind"] == "element" and element["fullyQualifiedName"].startswith("/domain/")
    assert location["properties"]["line"] >= 1
    assert "%3A" not in done.stdout.decode() and "artifactLocation" not in done.stdout.decode()


def test_sarif_reports_an_unknown_domain_as_a_notification_on_the_domain(uri, tmp_path):
    done = run_cli(
        "--no-config",
        "--connect",
        uri,
        "--domain",
        "nope",
        "--output-format",
        "sarif",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    log = json.loads(done.stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    (location,) = note["locations"]
    assert location == {
        "logicalLocations": [
            {"name": "nope", "fullyQualifiedName": f"{uri}/domain/nope", "kind": "resource"}
        ]
    }


def test_github_annotations_for_a_live_domain_have_no_file(uri, tmp_path):
    done = lint(uri, "--output-format", "github", cwd=tmp_path)
    (line,) = done.stdout.decode().splitlines()
    assert line.startswith("::error title=DX404 io-native-needs-direct-cache::")
    assert "file=" not in line and "line=" not in line
    message = line.split("::", 2)[2]
    assert message.startswith(f"{uri}/domain/dx404:")


def test_junit_test_case_of_a_live_domain_has_no_file(uri, tmp_path):
    from lxml import etree

    done = lint(uri, "--output-format", "junit", cwd=tmp_path)
    case = etree.fromstring(done.stdout).find("testsuite/testcase")
    assert case.get("name") == f"{uri}/domain/dx404" and case.get("file") is None
