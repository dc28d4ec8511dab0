"""The ``domxml-lint`` command."""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from . import __version__
from .document import Document, sniff_root_name
from .errors import DomxmlLintError, InputError, UsageError
from .fileio import read_file, write_atomic
from .fixer import fix_document
from .linter import Linter
from .plugins import load_ruleset
from .report import FileResult, format_finding_text, format_json, summarize, summary_line

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="domxml-lint",
        description="Lint and auto-fix libvirt domain XML.",
        epilog="Exit codes: 0 no findings remain; 1 findings remain (or --diff would change "
        "something); 2 usage error, unreadable or hostile input, or internal error.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (*.xml)")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply unsafe fixes (with --fix/--diff)"
    )
    parser.add_argument(
        "--diff", action="store_true", help="print the unified diff of fixes; write nothing"
    )
    parser.add_argument(
        "--select", metavar="RULES", help="comma-separated codes, prefixes, names, or ALL"
    )
    parser.add_argument("--ignore", metavar="RULES", help="comma-separated rules to skip")
    parser.add_argument(
        "--host",
        metavar="FILE",
        action="append",
        default=[],
        help="host snapshot: capabilities, domain capabilities, node device or bundle "
        "(repeatable)",
    )
    parser.add_argument(
        "--output-format", choices=("text", "json"), default="text", help="output format"
    )
    parser.add_argument("--version", action="version", version=f"domxml-lint {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    try:
        return run(build_parser().parse_args(argv))
    except UsageError as exc:
        print(f"domxml-lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("domxml-lint: interrupted; files are either unchanged or fully fixed", file=sys.stderr)
        return 130


def _exit_on_signal(signum: int, _frame: object) -> None:
    # Unwind normally so a half-written temporary file is removed, never renamed.
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    if not args.paths:
        raise UsageError("no paths given; try `domxml-lint path/to/vm.xml` or a directory")
    ruleset = load_ruleset()
    selected = ruleset.select(
        select=_split(args.select),
        ignore=_split(args.ignore) or (),
    )
    host = _load_host(args.host) if args.host else None
    linter = Linter(selected, ruleset, host=host)
    fixing = args.fix or args.diff
    results: list[FileResult] = []
    for path in discover(args.paths, results):
        results.append(process_file(path, linter, args))

    out = sys.stdout
    if args.output_format == "json":
        out.write(format_json(results) + "\n")
    else:
        for result in results:
            if result.diff:
                out.write(result.diff)
            for finding in result.findings:
                out.write(format_finding_text(result.path, finding) + "\n")
        summary = summarize(results, len(linter.skipped_for_host))
        if summary.files or summary.errors:
            line = summary_line(summary, fixing=fixing, unsafe=args.unsafe_fixes, dry_run=args.diff)
            out.write(line + "\n")
    for result in results:
        if result.error is not None:
            print(f"domxml-lint: error: {result.error}", file=sys.stderr)

    if any(r.error is not None for r in results):
        return EXIT_ERROR
    if any(r.findings for r in results) or (args.diff and any(r.changed for r in results)):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def process_file(path: str, linter: Linter, args: argparse.Namespace) -> FileResult:
    """Lint, diff or fix one file; errors are recorded, never raised."""
    result = FileResult(path)
    try:
        data = read_file(path)
        if sniff_root_name(data) not in ("domain", None):  # None: no root found, parse says why
            result.skipped = True
            return result
        doc = Document.parse(data, path)
        if doc.root.tag != "domain":
            result.skipped = True
            return result
        if not (args.fix or args.diff):
            checked = linter.check(doc)
            result.findings, result.notes = checked.findings, checked.notes
            return result
        fixed = fix_document(doc, linter, unsafe=args.unsafe_fixes)
        result.findings = list(fixed.remaining)
        result.applied = list(fixed.applied)
        result.changed = fixed.changed
        if fixed.changed and args.diff:
            result.diff = unified_diff(path, doc, fixed.data)
        elif fixed.changed:
            write_atomic(path, fixed.data, expected=data)
    except InputError as exc:
        result.error = exc
        result.findings = []
    except DomxmlLintError as exc:
        result.error = InputError(path, str(exc))
    return result


def unified_diff(path: str, doc: Document, new: bytes) -> str:
    old_lines = doc.data.decode(doc.encoding, "replace").splitlines(keepends=True)
    new_lines = new.decode(doc.encoding, "replace").splitlines(keepends=True)
    name = path.lstrip("/")
    lines = difflib.unified_diff(old_lines, new_lines, f"a/{name}", f"b/{name}")
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
    return text


def discover(paths: Sequence[str], results: list[FileResult]) -> Iterator[str]:
    """Files to check: files as given, directories searched recursively for *.xml.

    A path that does not exist is recorded as an error; hidden directories
    (``.git``, ``.tox``) are not searched.
    """
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            errors_before = len(results)
            found = sorted(_walk_xml(path, results))
            if not found and len(results) == errors_before:
                print(f"domxml-lint: warning: no *.xml files under {path} (pass domain XML files, "
                      "or a directory that holds some)", file=sys.stderr)
            for file in found:
                if file not in seen:
                    seen.add(file)
                    yield file
        elif os.path.exists(path) or os.path.islink(path):
            if path not in seen:
                seen.add(path)
                yield path
        else:
            results.append(
                FileResult(path, error=InputError(path, "no such file or directory",
                                                  hint="check the path"))
            )


def _walk_xml(top: str, results: list[FileResult]) -> Iterator[str]:
    def unreadable(exc: OSError) -> None:  # os.walk would skip it silently
        where = exc.filename or top
        results.append(FileResult(where, error=InputError(
            where, f"cannot search this directory: {exc.strerror or exc}",
            hint="check its permissions; files in it were not checked")))

    for directory, subdirs, files in os.walk(top, onerror=unreadable):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in files:
            if name.lower().endswith(".xml"):
                yield os.path.join(directory, name)


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _load_host(paths: Sequence[str]):
    from .host import load_host

    return load_host(*paths)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
