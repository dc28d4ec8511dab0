"""The library API behind ``domxml_lint.lint`` and ``domxml_lint.fix``."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from .document import Document
from .errors import InputError, UsageError
from .fileio import read_file
from .findings import Finding
from .fixer import FixResult, fix_document
from .linter import Linter
from .plugins import load_ruleset
from .versions import Version, Versions, parse_version

Source = str | bytes | os.PathLike[str]
Selectors = Sequence[str] | str | None

_DECLARED_ENCODING = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)")


class NotADomainError(InputError):
    """The document's root element is not ``<domain>``."""


def lint(
    source: Source,
    *,
    host: Any = None,
    select: Selectors = None,
    ignore: Selectors = None,
    libvirt_version: str | None = None,
    qemu_version: str | None = None,
) -> list[Finding]:
    """Lint one domain definition and return its findings, sorted by position.

    ``source`` is XML text (a ``str`` starting with ``<``), ``bytes``, or a path.
    ``host`` is a host model, or None for no host-aware rules.
    ``select``/``ignore`` take codes, prefixes, names or ``ALL`` (a list or a
    comma-separated string); without ``select`` the default rules run.
    ``libvirt_version``/``qemu_version`` (``"9.0.0"``): the releases whose behaviour
    version-dependent checks follow; without them the host's recorded ones, else the
    newest.
    """
    doc = _document(source)
    linter = build_linter(
        host=host,
        select=select,
        ignore=ignore,
        libvirt_version=libvirt_version,
        qemu_version=qemu_version,
    )
    return linter.check(doc).findings


def fix(
    source: Source,
    *,
    host: Any = None,
    unsafe: bool = False,
    select: Selectors = None,
    ignore: Selectors = None,
) -> FixResult:
    """Fix one domain definition; nothing is written.

    Returns a :class:`FixResult` with ``.output`` (the fixed text), ``.applied``
    (findings whose fixes were applied) and ``.remaining``. Safe fixes only,
    unless ``unsafe`` is true.
    """
    doc = _document(source)
    linter = build_linter(host=host, select=select, ignore=ignore)
    return fix_document(doc, linter, unsafe=unsafe)


def lint_host(
    sources: Sequence[Source],
    *,
    host: Any,
    select: Selectors = None,
    ignore: Selectors = None,
    extend_select: Selectors = None,
    libvirt_version: str | None = None,
    qemu_version: str | None = None,
) -> dict[str, list[Finding]]:
    """Lint the guests of one host together: each document, then the plan rules over all.

    ``sources`` are the guests (as for :func:`lint`; paths name them, text and bytes
    are ``<string N>``/``<bytes N>``); ``host`` is their host model. Returns the
    findings per document, plus those about the host itself under the snapshot
    file they point into (or ``host``).
    """
    from .guests import collect_guest
    from .hostplan import HostPlan
    from .report import FileResult

    linter = build_linter(
        host=host,
        select=select,
        ignore=ignore,
        extend_select=extend_select,
        libvirt_version=libvirt_version,
        qemu_version=qemu_version,
    )
    results = []
    for number, source in enumerate(sources, 1):
        doc = _document(source)
        shown = (
            doc.path if doc.path not in ("<string>", "<bytes>") else f"{doc.path[:-1]} {number}>"
        )
        checked = linter.check(doc)
        result = FileResult(shown, findings=checked.findings)
        if linter.plan_rules and checked.facts is not None:
            result.guest = collect_guest(
                doc, checked.facts, shown=shown, kind="file", host=host, ruleset=linter.ruleset
            )
        results.append(result)
    if host is not None:
        plan = HostPlan(host)
        for result in results:
            plan.add(result, linter.plan_rules)
        results += plan.run()
    return {result.path: result.findings for result in results}


def build_linter(
    *,
    host: Any = None,
    select: Selectors = None,
    ignore: Selectors = None,
    extend_select: Selectors = None,
    options: dict[str, dict[str, Any]] | None = None,
    libvirt_version: str | None = None,
    qemu_version: str | None = None,
) -> Linter:
    ruleset = load_ruleset()
    chosen = ruleset.select(
        select=_selectors(select),
        ignore=_selectors(ignore) or (),
        extend_select=_selectors(extend_select) or (),
    )
    versions = Versions(_version(libvirt_version), _version(qemu_version))
    return Linter(chosen, ruleset, host=host, options=options, versions=versions)


def _version(text: str | None) -> Version | None:
    if text is None:
        return None
    version = parse_version(text)
    if version is None:
        raise UsageError(f"{text!r} is not a version such as '10.7.0'")
    return version


def _selectors(value: Selectors) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v.strip()]


def _document(source: Source) -> Document:
    data, path = _read_source(source)
    doc = Document.parse(data, path)
    if doc.root.tag != "domain":
        raise NotADomainError(
            path,
            f"root element is <{doc.root.tag}>, not <domain>",
            hint="domxml-lint checks libvirt domain definitions only",
        )
    return doc


def _read_source(source: Source) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "<bytes>"
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
        declared = _DECLARED_ENCODING.match(source)
        if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise UsageError(
                f"the XML text declares encoding {declared.group(1)!r}; pass it as bytes instead"
            )
        return source.encode("utf-8"), "<string>"
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        return read_file(path), path
    raise TypeError(f"source must be XML text, bytes or a path, not {type(source).__name__}")
