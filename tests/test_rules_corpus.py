"""The rules over libvirt's own test domains (../shared/corpus/libvirt/domain).

Every rule, opt-in ones included, must run over the whole corpus without an
internal error; every fix must converge, end its finding and leave nothing
new behind; and where libvirt's common code judges a file, our errors must
agree with libvirt's verdict on it.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.findings import Severity
from domxml_lint.fixer import fix_document
from helpers import IN_CI

pytestmark = pytest.mark.corpus


def _documents(corpus):
    for path in sorted((corpus / "domain").glob("*.xml")):
        yield path, Document.parse(path.read_bytes(), str(path))


def test_every_rule_runs_over_the_corpus(corpus):
    linter = build_linter(select=["ALL"])
    checked = 0
    for _path, doc in _documents(corpus):
        linter.check(doc)  # an internal error raises
        checked += 1
    assert checked > 1000


@pytest.mark.slow
def test_fixes_converge_and_leave_nothing_new(corpus):
    linter = build_linter(select=["ALL"])
    fixed = 0
    for path, doc in _documents(corpus):
        before = linter.check(doc).findings
        if not any(f.fix for f in before):
            continue
        result = fix_document(doc, linter, unsafe=True)
        assert result.converged, path.name
        assert not [f for f in result.remaining if f.fix], path.name
        # A fix may make a definition valid enough for advice to apply (raising
        # <iothreads> lets iothread-unpinned speak); it must never add an error.
        known = {(f.code, f.message) for f in before}
        new_errors = [
            f"{f.code} {f.message}"
            for f in result.remaining
            if (f.code, f.message) not in known and f.severity is Severity.ERROR
        ]
        assert not new_errors, (path.name, new_errors)
        again = fix_document(Document.parse(result.data, str(path)), linter, unsafe=True)
        assert not again.changed, path.name
        fixed += 1
    assert fixed > 0


# What libvirt's driver-independent validation says about these elements.
JUDGED = {
    "hugepage-nodeset-invalid": (b"<hugepages", re.compile(r"hugepages")),
    "iotune-total-with-read-write": (b"<iotune", re.compile(r"cannot be set at the same time")),
}


@pytest.fixture(scope="module")
def test_driver():
    try:
        import libvirt
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but libvirt-python is not installed")
        pytest.skip("libvirt-python is not installed")
    libvirt.registerErrorHandler(lambda *_: None, None)
    connection = libvirt.open("test:///default")
    yield libvirt, connection
    connection.close()


@pytest.mark.libvirt
@pytest.mark.parametrize("rule_name", sorted(JUDGED))
def test_errors_agree_with_libvirt_on_the_corpus(corpus, test_driver, rule_name):
    libvirt, conn = test_driver
    marker, refusal = JUDGED[rule_name]
    linter = build_linter(select=[rule_name])
    judged = 0
    for path, doc in _documents(corpus):
        if marker not in doc.data:
            continue
        ours = any(f.severity.value == "error" for f in linter.check(doc).findings)
        try:
            conn.defineXMLFlags(doc.data.decode(doc.encoding), 0).undefine()
            message = ""
        except libvirt.libvirtError as exc:
            message = str(exc)
        assert ours == bool(refusal.search(message)), (path.name, message)
        judged += 1
    assert judged > 0
