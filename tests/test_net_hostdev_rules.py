"""Network and host-device rules whose judgement follows the libvirt release."""

from __future__ import annotations

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import RULE_FIXTURES

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
