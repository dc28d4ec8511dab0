"""Proof against real libvirt (its test driver) for the CPU, pinning and guest-NUMA rules.

Each driver-independent error rule's trigger fixtures are defined through
``test:///default``: libvirt must refuse them, and one of the rule's findings
must quote libvirt's message. Its clean fixtures must define. Skips without
libvirt-python, except under CI=true, where it fails.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import IN_CI, RULE_FIXTURES

pytestmark = pytest.mark.libvirt

SCHEMA_FAILURE = "failed to validate against schema"


@pytest.fixture(scope="module")
def libvirt_module():
    try:
        import libvirt
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but libvirt-python is not installed")
        pytest.skip("libvirt-python is not installed")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


@pytest.fixture(scope="module")
def conn(libvirt_module):
    connection = libvirt_module.open("test:///default")
    yield connection
    connection.close()


def as_test_domain(data: bytes) -> str:
    """The fixture as a ``type='test'`` domain with a name no other test uses."""
    text = data.decode()
    text = re.sub(r"<domain type=(['\"])\w+\1", "<domain type='test'", text, count=1)
    return re.sub(r"<name>[^<]*</name>", "<name>domxml-lint-probe</name>", text, count=1)


def define(libvirt, conn, xml: str, flags: int):
    """Define ``xml``; return (error message or None, the defined XML or None)."""
    try:
        domain = conn.defineXMLFlags(xml, flags)
    except libvirt.libvirtError as exc:
        return exc.get_error_message(), None
    described = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    domain.undefine()
    # libvirt generates a fresh uuid on every define
    return None, re.sub(r"<uuid>[^<]*</uuid>", "<uuid/>", described)


def refusal(libvirt, conn, xml: str) -> str | None:
    """libvirt's parser/validator message, looking past a RelaxNG schema failure."""
    message, _ = define(libvirt, conn, xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    if message is not None and SCHEMA_FAILURE in message:
        # The schema refused it first; the parser's own message says why.
        message, _ = define(libvirt, conn, xml, 0)
        assert message is not None, "refused by the schema only"
    return message


def libvirt_text(message: str) -> str:
    """Drop libvirt's error-class prefix ("XML error: ") and a final full stop."""
    for prefix in ("XML error: ", "unsupported configuration: ", "internal error: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message.rstrip(".")


def fixtures(rule: str, prefix: str):
    return [
        pytest.param(rule, path, id=f"{rule}/{path.name}")
        for path in sorted((RULE_FIXTURES / rule).glob(f"{prefix}*.xml"))
        if not path.name.endswith(".fixed.xml")
    ]


#: Rules whose checks are libvirt's driver-independent parsing and validation.
REFUSED_BY_LIBVIRT = (
    "vcpupin-duplicate",
    "cachetune-overlap",
    "numa-cells-invalid",
    "numatune-memnode-invalid",
)
#: Refused only by libvirt releases newer than 9.0; tested on its own below.
RESTRICTIVE_MIX = RULE_FIXTURES / "numatune-memnode-invalid" / "trigger-restrictive-memory.xml"


@pytest.mark.parametrize(
    "rule,path",
    [
        p
        for rule in REFUSED_BY_LIBVIRT
        for p in fixtures(rule, "trigger")
        if p.values[1] != RESTRICTIVE_MIX
    ],
)
def test_libvirt_refuses_trigger_with_the_message_the_rule_quotes(libvirt_module, conn, rule, path):
    message = refusal(libvirt_module, conn, as_test_domain(path.read_bytes()))
    assert message is not None, f"libvirt accepted {path.name}"
    findings = build_linter(select=[rule]).check(Document.parse(path.read_bytes())).findings
    quoted = libvirt_text(message)
    assert any(quoted in f.message for f in findings), (
        f"libvirt said {message!r}; the rule said {[f.message for f in findings]}"
    )


@pytest.mark.parametrize(
    "rule,path",
    [p for rule in REFUSED_BY_LIBVIRT for p in fixtures(rule, "clean")],
)
def test_libvirt_accepts_clean_fixture(libvirt_module, conn, rule, path):
    xml = as_test_domain(path.read_bytes())
    message, _ = define(libvirt_module, conn, xml, libvirt_module.VIR_DOMAIN_DEFINE_VALIDATE)
    assert message is None, message


def test_libvirt_drops_a_vcpupin_for_a_missing_vcpu_exactly_as_the_fix_does(libvirt_module, conn):
    directory = RULE_FIXTURES / "vcpupin-unknown-vcpu"
    flags = libvirt_module.VIR_DOMAIN_DEFINE_VALIDATE
    original = (directory / "trigger.xml").read_bytes()
    fixed = (directory / "trigger.fixed.xml").read_bytes()
    message, from_original = define(libvirt_module, conn, as_test_domain(original), flags)
    assert message is None, message
    message, from_fixed = define(libvirt_module, conn, as_test_domain(fixed), flags)
    assert message is None, message
    assert "vcpu='2'" in original.decode() and "vcpu='2'" not in from_original
    assert from_original == from_fixed


def test_libvirt_keeps_the_vcpupin_of_an_offline_vcpu(libvirt_module, conn):
    clean = (RULE_FIXTURES / "vcpupin-unknown-vcpu" / "clean.xml").read_bytes()
    flags = libvirt_module.VIR_DOMAIN_DEFINE_VALIDATE
    message, described = define(libvirt_module, conn, as_test_domain(clean), flags)
    assert message is None, message
    assert "<vcpupin vcpu='3' cpuset='5'/>" in described


def test_restrictive_memnode_under_a_non_restrictive_memory(libvirt_module, conn):
    """libvirt 9.0 keeps this mix as written; later releases refuse it with the quoted text."""
    document = Document.parse(RESTRICTIVE_MIX.read_bytes())
    findings = build_linter(select=["numatune-memnode-invalid"]).check(document).findings
    newer_text = (
        "'restrictive' mode is required in memory element when mode is 'restrictive' in "
        "memnode element"
    )
    assert any(newer_text in f.message for f in findings)
    xml = as_test_domain(RESTRICTIVE_MIX.read_bytes())
    message = refusal(libvirt_module, conn, xml)
    if message is not None:
        assert libvirt_text(message) == newer_text
        return
    _, described = define(libvirt_module, conn, xml, 0)
    assert "<memory mode='interleave' nodeset='0-1'/>" in described
    assert "<memnode cellid='1' mode='restrictive' nodeset='1'/>" in described
