"""The fuzzing oracle: what must hold for any bytes given to parse -> lint -> fix.

Used by the atheris entry point (fuzz_lint_fix.py) and by the regression test
that replays every input in fuzz/regressions/ (tests/test_fuzz_regressions.py),
so a crash found once stays fixed. No atheris import here.

For any input:
- parsing either succeeds or raises InputError (one line, file named);
- a <domain> is linted with every rule without an internal error, and every
  finding has a sane position;
- fixing (safe, then unsafe) raises no internal error; the output parses, is
  still a <domain>, is a fixed point, and every pass is local and adds no
  error (tests/fixcheck.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from domxml_lint.api import build_linter
from domxml_lint.document import Document, sniff_root_name
from domxml_lint.errors import InputError, InternalError
from domxml_lint.fixer import fix_document

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixcheck import check_trace, trace_fix  # noqa: E402

_LINTER = []


def linter():
    if not _LINTER:
        _LINTER.append(build_linter(select="ALL"))
    return _LINTER[0]


class Bug(AssertionError):
    """An input that breaks a promise; the message says which."""


def check(data: bytes) -> None:
    sniff_root_name(data)  # the CLI's first look at every file: must not raise or hang
    try:
        doc = Document.parse(data, "fuzz.xml")
    except InternalError as exc:
        raise Bug(f"internal error while parsing: {exc}") from exc
    except InputError as exc:
        text = str(exc)
        if "\n" in text or not text.startswith("fuzz.xml"):
            raise Bug(f"input error is not one line naming the file: {text!r}") from exc
        return
    if doc.root.tag != "domain":
        return
    try:
        findings = linter().check(doc).findings
        for finding in findings:
            if (
                finding.line < 1
                or finding.column < 1
                or (finding.end_line, finding.end_column)
                < (
                    finding.line,
                    finding.column,
                )
            ):
                raise Bug(f"bad position in {finding}")
        for unsafe in (False, True):
            trace = trace_fix(doc, linter(), unsafe=unsafe)
            check_trace(trace)
            fixed = Document.parse(trace.final.data, "fuzz.xml")
            if fixed.root.tag != "domain":
                raise Bug("the fix changed the root element")
            again = fix_document(fixed, linter(), unsafe=unsafe)
            if again.data != fixed.data or again.applied:
                raise Bug("fixing the fixed output changed it again")
    except InternalError as exc:
        raise Bug(str(exc)) from exc
    except InputError as exc:  # the fixed output no longer parses
        raise Bug(f"fixed output does not parse: {exc}") from exc
