"""libvirt as the judge: a fixed definition must define wherever the original did.

Corpus domains (and generated ones) are fixed as written, with every rule and
unsafe fixes, so the QEMU rules act on them. Then both the original and the
fixed text are rewritten to ``type='test'`` (new name, no UUID) and defined
through the test driver, ``test:///default``, with VIR_DOMAIN_DEFINE_VALIDATE:
libvirt's own schema plus its driver-independent checks (domain_conf.c,
domain_validate.c). Where libvirt accepts the original it must accept the
fix. Originals it refuses (features newer than the installed libvirt, devices
the test driver lacks) are not judged.

Skips without libvirt-python, except under CI=true, where it fails.
"""

from __future__ import annotations

import collections
import hashlib
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.fixer import fix_document
from helpers import IN_CI
from strategies import domain_documents

pytestmark = pytest.mark.libvirt

#: Most corpus files judged per run; a stable hash picks which when more fixes apply.
MAX_JUDGED = 800
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_names = itertools.count()


@pytest.fixture(scope="module")
def libvirt_module():
    try:
        import libvirt
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but libvirt-python is not installed (pip install -e '.[libvirt]')")
        pytest.skip("libvirt-python is not installed")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors come back as exceptions
    return libvirt


@pytest.fixture(scope="module")
def connection(libvirt_module):
    try:
        conn = libvirt_module.open("test:///default")
    except libvirt_module.libvirtError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but the libvirt test driver does not open: {exc}")
        pytest.skip(f"the libvirt test driver does not open: {exc}")
    yield conn
    conn.close()


def as_test_domain(data: bytes) -> str:
    """The definition with type='test', a fresh name and no UUID (so no two collide)."""
    root = etree.fromstring(data, _PARSER)
    root.set("type", "test")
    name = root.find("name")
    if name is None:
        name = etree.SubElement(root, "name")
    name.text = f"judged-{next(_names)}"
    for uuid in root.findall("uuid"):
        root.remove(uuid)
    return etree.tostring(root, encoding="unicode")


def refusal(libvirt_module, connection, data: bytes) -> str | None:
    """libvirt's error message for defining ``data`` as a test domain, or None if it is accepted."""
    try:
        domain = connection.defineXMLFlags(
            as_test_domain(data), libvirt_module.VIR_DOMAIN_DEFINE_VALIDATE
        )
    except libvirt_module.libvirtError as exc:
        return exc.get_error_message()
    domain.undefine()
    return None


def judge(libvirt_module, connection, original: bytes, fixed: bytes) -> str:
    """'unchanged', 'not judged' (libvirt refuses the original), 'accepted'; or fails."""
    if fixed == original:
        return "unchanged"
    if refusal(libvirt_module, connection, original) is not None:
        return "not judged"
    refused = refusal(libvirt_module, connection, fixed)
    assert refused is None, f"libvirt accepts the original but refuses the fix: {refused}"
    return "accepted"


def test_the_judge_refuses_what_libvirt_refuses(libvirt_module, connection):
    good = (
        b"<domain type='kvm'><name>j</name><memory>1048576</memory><vcpu>4</vcpu>"
        b"<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
        b"<driver name='qemu' type='raw' cache='none'/><source file='/a.img'/>"
        b"<target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    assert refusal(libvirt_module, connection, good) is None
    schema_invalid = good.replace(b"cache='none'", b"cache='fast'")
    assert "failed to validate against schema" in refusal(
        libvirt_module, connection, schema_invalid
    )
    semantic = good.replace(b"<vcpu>4</vcpu>", b"<vcpu current='8'>4</vcpu>")
    assert "current vCPU count" in refusal(libvirt_module, connection, semantic)
    with pytest.raises(AssertionError, match="refuses the fix"):
        judge(libvirt_module, connection, good, semantic)
    assert [d.name() for d in connection.listAllDomains()] == ["test"], "judged domains linger"


@pytest.mark.slow
def test_libvirt_accepts_every_fixed_corpus_domain(libvirt_module, connection, corpus):
    linter = build_linter(select="ALL")
    changed = []
    for path in sorted((corpus / "domain").glob("*.xml")):
        original = path.read_bytes()
        fixed = fix_document(Document.parse(original, path.name), linter, unsafe=True).data
        if fixed != original:
            changed.append((path.name, original, fixed))
    if len(changed) > MAX_JUDGED:
        changed.sort(key=lambda item: hashlib.sha256(item[0].encode()).hexdigest())
        changed = changed[:MAX_JUDGED]
    verdicts = {}
    for name, original, fixed in changed:
        try:
            verdicts[name] = judge(libvirt_module, connection, original, fixed)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    accepted = sum(v == "accepted" for v in verdicts.values())
    print(
        f"\n{len(changed)} corpus files changed by fixes; libvirt judged {accepted}, "
        f"{len(changed) - accepted} not judged (it refuses the original as a test domain)"
    )
    assert accepted or not changed, "no fixed corpus file could be judged"


@pytest.mark.slow
def test_libvirt_accepts_fixed_generated_domains(libvirt_module, connection):
    linter = build_linter(select="ALL")
    verdicts: list[str] = []

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(domain_documents(valid_only=True))
    def check(data):
        fixed = fix_document(Document.parse(data, "gen.xml"), linter, unsafe=True).data
        verdicts.append(judge(libvirt_module, connection, data, fixed))

    check()
    print(f"\ngenerated domains: {collections.Counter(verdicts)}")
    assert verdicts.count("accepted") >= 10, f"too few fixes judged: {verdicts}"


@pytest.mark.slow
def test_generated_valid_domains_are_accepted_by_libvirt(libvirt_module, connection):
    """The valid-only strategy writes what libvirt defines, so the judge sees real definitions."""

    @settings(
        max_examples=100,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(domain_documents(valid_only=True))
    def check(data):
        assert refusal(libvirt_module, connection, data) is None

    check()
