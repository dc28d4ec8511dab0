"""Network and host-device rules whose judgement follows the libvirt release."""

from __future__ import annotations

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import HOSTS, RULE_FIXTURES

NO_MODEL = RULE_FIXTURES / "net-vhostuser-vdpa-invalid" / "trigger-no-model.xml"


def _codes(path, **versions):
    doc = Document.parse(path.read_bytes(), str(path))
    linter = build_linter(select=["net-vhostuser-vdpa-invalid"], **versions)
    return [f.code for f in linter.check(doc).findings]


def test_vhostuser_without_model_follows_the_release():
    # libvirt 11.1 gives vhost-user interfaces virtio; older QEMU drivers gave the
    # machine's default (rtl8139 on x86) and refused it.
    assert _codes(NO_MODEL, libvirt_version="10.7.0") == ["DX554"]
    assert _codes(NO_MODEL, libvirt_version="11.1.0") == []
    assert _codes(NO_MODEL) == []  # unknown: the newest behaviour


def test_user_backend_switch_to_passt_follows_the_release(tmp_path):
    from domxml_lint.host import load_host
    from samples import domain

    bundle = (HOSTS / "no-vfio-no-passt.xml").read_text()
    bundle = bundle.replace(
        "<enum name='backendType'>\n        <value>default</value>",
        "<enum name='backendType'>\n        <value>passt</value>",
    )
    assert "<value>passt</value>" in bundle
    (tmp_path / "passt-only.xml").write_text(bundle)
    host = load_host(tmp_path / "passt-only.xml")
    guest = tmp_path / "guest.xml"
    guest.write_text(domain(devices="<interface type='user'/>", machine="pc-q35-8.2"))

    def messages(**versions):
        linter = build_linter(select=["net-user-backend-unavailable"], host=host, **versions)
        doc = Document.parse(guest.read_bytes(), str(guest))
        return [f.message for f in linter.check(doc).findings]

    # libvirt 10.7 refuses the default (slirp) back end QEMU lacks; newer releases
    # pick passt for it.
    (message,) = messages(libvirt_version="10.7.0")
    assert "the 'default' network backend is not supported with this QEMU binary" in message
    assert messages(libvirt_version="10.8.0") == []
    assert len(messages()) == 1  # no version configured: the snapshot's (10.7.0)


def test_passt_on_vhostuser_follows_the_release():
    path = RULE_FIXTURES / "net-passt-option-invalid" / "clean-vhostuser-passt.xml"
    doc = Document.parse(path.read_bytes(), str(path))

    def codes(**versions):
        linter = build_linter(select=["net-passt-option-invalid"], **versions)
        return [f.code for f in linter.check(doc).findings]

    assert codes(libvirt_version="10.7.0") == ["DX553", "DX553"]  # back end, portForward
    assert codes(libvirt_version="11.1.0") == []
