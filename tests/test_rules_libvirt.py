"""The guide rules' claims about libvirt, checked against real libvirt (its test driver).

The test driver runs libvirt's driver-independent parsing, post-parse and
validation code, so what domain_conf.c, domain_postparse.c and
domain_validate.c refuse or rewrite can be observed here: a rule that says
"libvirt refuses it" must see its trigger refused and its clean fixture
accepted. Checks that live in the QEMU driver (qemu_validate.c) cannot run
here and are covered by the fixtures alone.
"""

from __future__ import annotations

import pytest
from lxml import etree

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.fixer import fix_document
from domxml_lint.units import to_kib
from helpers import IN_CI, RULE_FIXTURES

pytestmark = pytest.mark.libvirt


@pytest.fixture(scope="module")
def libvirt_module():
    try:
        import libvirt
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but libvirt-python is not installed")
        pytest.skip("libvirt-python is not installed")
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt


@pytest.fixture
def conn(libvirt_module):
    connection = libvirt_module.open("test:///default")
    yield connection
    connection.close()


def _define(conn, path, *, validate=False):
    """Define the fixture; return None when libvirt accepts it, else libvirt's error text."""
    import libvirt

    flags = libvirt.VIR_DOMAIN_DEFINE_VALIDATE if validate else 0
    try:
        domain = conn.defineXMLFlags(path.read_text(), flags)
    except libvirt.libvirtError as exc:
        return str(exc)
    domain.undefine()
    return None


def _findings(rule_name, path):
    doc = Document.parse(path.read_bytes(), str(path))
    return build_linter(select=[rule_name]).check(doc).findings


def _fixtures(rule_name, prefix):
    return sorted(
        p
        for p in (RULE_FIXTURES / rule_name).glob(f"{prefix}*.xml")
        if not p.name.endswith(".fixed.xml")
    )


# Rules whose errors libvirt's common code raises when it defines the guest,
# with the message each fixture must produce.
REFUSED_AT_DEFINE = {
    ("iotune-total-with-read-write", "trigger.xml"): (
        "total and read/write bytes_sec cannot be set at the same time"
    ),
    ("iotune-total-with-read-write", "trigger-xen.xml"): (
        "total and read/write iops_sec cannot be set at the same time"
    ),
    ("hugepage-nodeset-invalid", "trigger.xml"): "hugepages: node 1 not found",
    ("hugepage-nodeset-invalid", "trigger-overlap.xml"): (
        "nodeset attribute of hugepages of sizes 1048576 and 2048 intersect"
    ),
    ("hugepage-nodeset-invalid", "trigger-two-defaults.xml"): (
        "two master hugepages detected: 1048576 and 2048"
    ),
    # Host devices and network interfaces (issue 16): the parser's and the common
    # validators' checks. libvirt stops at the first problem of a fixture.
    ("hostdev-address-type-invalid", "trigger.xml"): (
        "Unsupported address type 'drive' with mediated device model 'vfio-pci'"
    ),
    ("hostdev-duplicate", "trigger.xml"): "Hostdev already exists in the domain configuration",
    ("hostdev-duplicate", "trigger-usb.xml"): "Hostdev already exists in the domain configuration",
    ("hostdev-mdev-invalid", "trigger.xml"): "Only one vgpu device can have 'ramfb' enabled",
    ("hostdev-option-wrong-subsystem", "trigger.xml"): "rawio is only supported for scsi host",
    ("hostdev-option-wrong-subsystem", "trigger-model.xml"): "sgio is only supported for scsi host",
    ("hostdev-scsi-invalid", "trigger.xml"): (
        "only one source host address may be specified for the iSCSI hostdev"
    ),
    ("hostdev-scsi-invalid", "trigger-wwpn.xml"): "malformed 'wwpn' value",
    ("hostdev-teaming-invalid", "trigger.xml"): (
        "missing required persistent attribute in hostdev teaming element"
    ),
    ("net-bandwidth-invalid", "trigger.xml"): "floor attribute is not supported for this config",
    ("net-coalesce-too-big", "trigger.xml"): (
        "value '4294967296' is too big for coalesce parameter, maximum is '4294967295'"
    ),
    ("net-ethernet-only-option", "trigger.xml"): (
        "Invalid attempt to set network interface host-side IP route and/or address info on "
        "interface of type 'bridge'"
    ),
    ("net-ip-prefix-invalid", "trigger.xml"): "Invalid prefix value '64' in <ip>",
    ("net-mac-multicast", "trigger.xml"): (
        "expected unicast mac address, found multicast '01:54:00:12:34:56'"
    ),
    ("net-model-name-invalid", "trigger.xml"): "Model name contains invalid characters",
    ("net-teaming-invalid", "trigger-persistent-attr.xml"): (
        "teaming persistent attribute not allowed if teaming type is 'persistent'"
    ),
    ("net-vhostuser-vdpa-invalid", "trigger.xml"): ("vhostuser requires the virtio-net* frontend"),
    ("net-virtualport-invalid", "trigger.xml"): (
        "<virtualport> element unsupported for <interface type='ethernet'>"
    ),
    ("net-vlan-invalid", "trigger.xml"): "trunk='yes' is required for more than one vlan tag",
    ("net-vlan-invalid", "trigger-native-trunk-no.xml"): (
        "\"trunk='no'\" is not allowed with a native vlan id"
    ),
}


@pytest.mark.parametrize("rule_name,fixture", sorted(REFUSED_AT_DEFINE), ids=lambda v: str(v))
def test_error_findings_match_libvirts_refusal(conn, rule_name, fixture):
    path = RULE_FIXTURES / rule_name / fixture
    errors = [f for f in _findings(rule_name, path) if f.severity.value == "error"]
    assert errors, "the rule reports no error for a definition libvirt refuses"
    message = _define(conn, path)
    assert message is not None, "libvirt accepted the trigger"
    assert REFUSED_AT_DEFINE[(rule_name, fixture)] in message


@pytest.mark.parametrize("rule_name", ["iotune-total-with-read-write", "hugepage-nodeset-invalid"])
def test_clean_fixtures_are_accepted_by_libvirt(conn, rule_name):
    for path in _fixtures(rule_name, "clean"):
        assert _define(conn, path) is None, path.name
        assert _define(conn, path, validate=True) is None, path.name


def test_iotune_zero_twin_passes_define_but_not_the_schema(conn):
    # Why the zero case is a warning and not an error.
    path = RULE_FIXTURES / "iotune-total-with-read-write" / "trigger-zero.xml"
    assert [f.severity.value for f in _findings("iotune-total-with-read-write", path)] == [
        "warning"
    ]
    assert _define(conn, path) is None
    assert "failed to validate against schema" in _define(conn, path, validate=True)


@pytest.mark.parametrize(
    "fixture", ["trigger.xml", "trigger-below-100.xml", "trigger-weight-zero.xml"]
)
def test_blkiotune_weights_pass_define_and_fail_the_schema(conn, fixture):
    # libvirt leaves the range to the kernel at start; only its schema knows 100..1000.
    path = RULE_FIXTURES / "blkiotune-weight-range" / fixture
    assert _findings("blkiotune-weight-range", path)
    assert _define(conn, path) is None
    assert "failed to validate against schema" in _define(conn, path, validate=True)


def test_blkiotune_clean_weights_pass_the_schema(conn):
    path = RULE_FIXTURES / "blkiotune-weight-range" / "clean.xml"
    assert _define(conn, path, validate=True) is None


@pytest.mark.parametrize("fixture", ["trigger.xml", "trigger-inexact-unit.xml"])
def test_current_memory_fix_writes_what_libvirt_does(conn, fixture):
    """The safe fix sets currentMemory to the value libvirt itself keeps on define."""
    path = RULE_FIXTURES / "current-memory-exceeds-memory" / fixture
    xml = path.read_text()
    domain = conn.defineXML(xml)
    try:
        stored = etree.fromstring(domain.XMLDesc(0).encode()).find("currentMemory")
    finally:
        domain.undefine()
    libvirt_kib = to_kib(stored.text, stored.get("unit"))

    doc = Document.parse(path.read_bytes(), str(path))
    result = fix_document(doc, build_linter(select=["current-memory-exceeds-memory"]))
    fixed = etree.fromstring(result.data).find("currentMemory")
    assert to_kib(fixed.text, fixed.get("unit")) == libvirt_kib
    original = etree.fromstring(path.read_bytes()).find("currentMemory")
    assert to_kib(original.text, original.get("unit")) != libvirt_kib


def _fixed_pairs():
    pairs = []
    for path in sorted(RULE_FIXTURES.glob("*/trigger*.xml")):
        fixed = path.with_name(path.stem + ".fixed.xml")
        if not path.name.endswith(".fixed.xml") and fixed.exists():
            pairs.append(pytest.param(path, fixed, id=f"{path.parent.name}/{path.name}"))
    return pairs


@pytest.mark.parametrize("trigger,fixed", _fixed_pairs())
def test_fixes_keep_definitions_libvirt_accepts(conn, trigger, fixed):
    """A fix never turns a definition libvirt accepts (or validates) into one it refuses."""
    for validate in (False, True):
        if _define(conn, trigger, validate=validate) is None:
            assert _define(conn, fixed, validate=validate) is None, (validate, fixed.name)


def test_virtio_pmem_without_access_is_shared_by_libvirt(conn):
    """virtio-mem-invalid (DX342) judges access= as libvirt does: absent means shared."""
    clean = RULE_FIXTURES / "virtio-mem-invalid" / "clean-pmem-default-access.xml"
    text = clean.read_text().replace("type='kvm'", "type='test'")
    text = text.replace("machine='pc-q35-8.2'", "")
    assert not _findings("virtio-mem-invalid", clean)
    import libvirt

    for access, accepted in (("", True), (" access='shared'", True), (" access='private'", False)):
        xml = text.replace("model='virtio-pmem'", f"model='virtio-pmem'{access}")
        try:
            conn.defineXML(xml).undefine()
            outcome = True
        except libvirt.libvirtError as exc:
            outcome = False
            assert "shared access mode required for virtio-pmem device" in str(exc)
        assert outcome is accepted, access


@pytest.mark.parametrize("fixture", ["trigger-empty-elements.xml", "trigger-bridge-name.xml"])
def test_schema_warnings_pass_define_and_fail_the_schema(conn, fixture):
    # Why DX002 reports these as warnings: libvirt reads an empty <title>, <uuid>, <kernel>,
    # <initrd> or <bios> as absent (vagrant-libvirt and KubeVirt write them), and takes any
    # bridge name (oVirt's ';vdsmdummy;'); only a validating define refuses them.
    path = RULE_FIXTURES / "schema-invalid" / fixture
    severities = {f.severity.value for f in _findings("schema-invalid", path)}
    assert severities == {"warning"}
    assert _define(conn, path) is None
    assert "failed to validate against schema" in _define(conn, path, validate=True)
