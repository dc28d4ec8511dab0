"""The ``domxml-lint`` command.

``domxml-lint [check] [OPTIONS] PATH...`` lints files; ``rule`` and ``rules``
document the rules; ``host`` (host snapshots) lives in ``domxml_lint.host.cli``
and is imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from . import __version__, live_options
from .config import ConfigResolver, FileSettings, Overrides, settings_for
from .discovery import Discovery, DiscoveryOverrides
from .errors import DomxmlLintError, UsageError
from .findings import Severity
from .hostplan import run_plans
from .output import FORMATS, HUMAN, NEED_EDITS, NEED_SOURCE, OutputOptions, source_root
from .output import write as write_output
from .plan import RunPlan
from .plugins import load_ruleset
from .report import FileResult, Run, documents, plural, printable
from .rule import Stage
from .runner import Mode, Task, process, run_tasks, workers_for

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
STDIN = "-"
SUBCOMMANDS = ("check", "rule", "rules", "host", "completion", "server")


def main(argv: Sequence[str] | None = None) -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args and args[0] in SUBCOMMANDS else "check"
    if args and args[0] == command:
        args = args[1:]
    try:
        return COMMANDS[command](args)
    except DomxmlLintError as exc:  # usage errors, a bad --host, an unreachable libvirt
        error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "domxml-lint: interrupted; files are either unchanged or fully fixed", file=sys.stderr
        )
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other CLI tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


def run() -> NoReturn:
    """The ``domxml-lint`` command: :func:`main`, then exit without tearing the interpreter down.

    Freeing every module and object at exit costs a one-file run ~12 ms, more than
    linting the file. Files are closed by then (writes are atomic renames), so only
    stdout and stderr are left to flush. Signals that arrive before this point unwind
    as usual.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`| head`): quietly, as main() does
        code = EXIT_ERROR
    os._exit(code)


def _exit_on_signal(signum: int, _frame: object) -> None:
    # Unwind normally so a half-written temporary file is removed, never renamed.
    raise SystemExit(128 + signum)


def error(message: str) -> None:
    """One line on stderr: ``domxml-lint: error: <file>: <what> (<what to do>)``."""
    prefix = "domxml-lint: error:"
    if use_colour(sys.stderr):
        prefix = f"\x1b[1;31m{prefix}\x1b[0m"
    print(f"{prefix} {printable(message)}", file=sys.stderr)


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal; NO_COLOR turns it off, FORCE_COLOR on (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


# -- check ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as every other usage error
        raise UsageError(f"{message} (see `{self.prog} --help`)")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter per option added; left to itself each one asks
        # shutil for the terminal width, and importing shutil costs every run ~1.5 ms.
        width = _terminal_columns() - 2
        return self.formatter_class(prog=self.prog, width=width)  # type: ignore[call-arg]


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="domxml-lint",
        usage="domxml-lint [check] [OPTIONS] PATH...\n"
        "       domxml-lint rule NAME-or-CODE\n"
        "       domxml-lint rules [--output-format json]\n"
        "       domxml-lint host snapshot [--connect URI] [-o FILE]\n"
        "       domxml-lint completion bash|zsh|fish\n"
        "       domxml-lint server",
        description="Lint and auto-fix libvirt domain XML. PATH is a file, a directory "
        "(searched for *.xml) or - for stdin. Subcommands: check (the default), rule "
        "(print a rule's documentation), rules (list the rules), host (host snapshots), "
        "completion (shell completion script), server (the language server, for editors).",
        epilog="Exit codes: 0 no findings (at or above --fail-on) remain; 1 findings remain, "
        "or --diff would change something, or a fix was applied with --exit-non-zero-on-fix; "
        "2 usage or configuration error, unreadable or hostile input, or internal error.",
    )
    add_check_options(parser)
    return parser


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """Every option of the check command, in one place."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (*.xml)")
    parser.add_argument("--version", action="version", version=f"domxml-lint {__version__}")

    fixing = parser.add_argument_group("fixing")
    fixing.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    fixing.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also apply unsafe fixes (with --fix or --diff); overrides unsafe-fixes in the config",
    )
    fixing.add_argument(
        "--diff", action="store_true", help="print the unified diff of the fixes; write nothing"
    )
    fixing.add_argument(
        "--show-fixes",
        action="store_true",
        help="list what was fixed (with --fix/--diff), or each finding's fix",
    )

    selection = parser.add_argument_group(
        "rule selection",
        "RULES: comma-separated codes (DX401), prefixes (DX4), names (disk-cache-unsafe) or ALL",
    )
    selection.add_argument(
        "--select", metavar="RULES", action="append", help="run only these (replaces the config's)"
    )
    selection.add_argument(
        "--extend-select", metavar="RULES", action="append", help="run these too (opt-in rules)"
    )
    selection.add_argument("--ignore", metavar="RULES", action="append", help="skip these")

    config = parser.add_argument_group("configuration and host")
    choice = config.add_mutually_exclusive_group()
    choice.add_argument(
        "--config", metavar="FILE", help="use this config file for every file (no search)"
    )
    choice.add_argument(
        "--no-config", action="store_true", help="ignore config files; built-in defaults only"
    )
    config.add_argument(
        "--host",
        metavar="FILE",
        action="append",
        help="host snapshot: capabilities, domain capabilities, node device or bundle "
        "(repeatable; replaces the config's host)",
    )
    live_options.add_arguments(parser)

    files = parser.add_argument_group(
        "file selection", "PATTERNS: comma-separated globs, relative to the current directory"
    )
    files.add_argument(
        "--exclude",
        metavar="PATTERNS",
        action="append",
        help="skip these files and directories (replaces exclude in the config; default: .*/)",
    )
    files.add_argument(
        "--extend-exclude", metavar="PATTERNS", action="append", help="skip these too"
    )
    files.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip files git ignores when searching directories (default: on)",
    )
    files.add_argument(
        "--force-exclude",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the excludes to files given by name too (for pre-commit)",
    )
    files.add_argument(
        "--show-files", action="store_true", help="list the files that would be checked, and exit"
    )
    files.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings the first file would be checked with, and exit",
    )

    results = parser.add_argument_group("exit status")
    results.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="lowest severity that makes the exit code 1 (default: warning; info findings "
        "are shown but do not fail)",
    )
    exits = results.add_mutually_exclusive_group()
    exits.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when findings remain (2 stays 2)"
    )
    exits.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 when a fix was applied, even if no finding remains",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-format",
        choices=FORMATS,
        help="default: output-format in the config, else text (= concise: one line per finding)",
    )
    output.add_argument(
        "-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    output.add_argument(
        "--statistics", action="store_true", help="count findings per rule instead of listing them"
    )
    loudness = output.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q", "--quiet", action="store_true", help="findings only: no summary, no warnings"
    )
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also say (on stderr) which config files were read, which files were skipped "
        "as non-domain XML, and why rules stayed silent",
    )
    output.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="name for the document read from stdin (output, config search, per-file-ignores)",
    )

    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=0,
        metavar="N",
        help="processes to use: 0 (default) = one per CPU for 300+ files, serial below; "
        "1 = serial; N = N processes",
    )


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 (auto) or more")
    return number


def check_command(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    return run_check(args)


def run_check(args: argparse.Namespace) -> int:
    _validate(args)
    ruleset = load_ruleset()
    overrides = Overrides(
        select=_split(args.select),
        extend_select=tuple(_split(args.extend_select) or ()),
        ignore=tuple(_split(args.ignore) or ()),
        host=None if args.host is None else tuple(os.path.abspath(p) for p in args.host),
        fail_on=Severity(args.fail_on) if args.fail_on else None,
        unsafe_fixes=args.unsafe_fixes,
    )
    for selector in (*(overrides.select or ()), *overrides.extend_select, *overrides.ignore):
        ruleset.matches(selector)  # an unknown one is an error before any work
    for path in args.host or ():
        if not os.path.isfile(path):
            raise UsageError(f"--host {path}: no such file; check the path")
    # Live libvirt: the connection's host serves unless --host names one; its domains
    # go through the same per-document path as stdin (runner.process with data).
    session = None
    live_hosts = {}
    if live_options.requested(args):
        from .live import LiveSession

        session = LiveSession.open(args)
    if session is not None and args.host is None:
        live_hosts[session.uri] = session.host()
        overrides = overrides._replace(connection=session.uri)
    plan = RunPlan(ruleset, live_hosts=live_hosts)
    resolver = ConfigResolver(ruleset, config_file=args.config, use_files=not args.no_config)
    args.output_format = args.output_format or resolver.for_path(None).output_format or "text"
    _validate_format(args)
    finder = Discovery(resolver, _discovery_overrides(args))
    if args.show_files or args.show_settings:
        return _show(args, finder, resolver, overrides)
    keep_source = args.output_format in NEED_SOURCE
    mode = Mode(
        fix=args.fix,
        diff=args.diff,
        keep_source=keep_source,
        edits=args.output_format in NEED_EDITS,
    )
    from_stdin = args.paths == [STDIN] or (not args.paths and bool(args.stdin_filename))

    if from_stdin:
        name = args.stdin_filename
        settings = settings_for(resolver.for_path(name), overrides, name)
        plan.prepare([settings])
        data = sys.stdin.buffer.read()
        excluded = name is not None and finder.stdin_excluded(name)
        if excluded:  # as ruff: nothing to report, and --fix echoes the document
            result = FileResult(name, skipped=True, skip_reason=f"excluded by {excluded}")
        else:
            result = process(Task(STDIN, settings, display=name or STDIN), mode, plan, data=data)
        results = [result]
        checked_with: list[FileSettings | None] = [None if excluded else settings]
    else:
        entries = list(finder.files(args.paths, warn=not args.quiet))
        tasks: list[Task] = []
        shared: dict[int, FileSettings] = {}  # per config, when no per-file ignores apply
        for entry in entries:
            if isinstance(entry, str):
                config = resolver.for_path(entry)
                cached = None if config.per_file_ignores else shared.get(id(config))
                settings = cached or settings_for(config, overrides, entry)
                if cached is None and not config.per_file_ignores:
                    shared[id(config)] = settings
                tasks.append(Task(entry, settings))
        done = iter(run_tasks(tasks, mode, args.jobs, plan))
        settings_of = iter(task.settings for task in tasks)
        results = [next(done) if isinstance(e, str) else e for e in entries]
        checked_with = [next(settings_of) if isinstance(e, str) else None for e in entries]
    if session is not None:
        live_settings = settings_for(resolver.for_path(None), overrides, None)
        plan.prepare([live_settings])
        live_results = session.lint(
            lambda shown, data: process(
                Task(shown, live_settings, display=shown, kind="domain"), mode, plan, data=data
            ),
            fixing=args.fix and not args.diff,
        )
        results = live_results + results
        live_with: list[FileSettings | None] = [live_settings for _ in live_results]
        checked_with = live_with + checked_with
    # Plan rules: every guest of a host at once, now that each document was checked.
    documents_checked = len(results)
    results, plan_notes = run_plans(list(zip(results, checked_with, strict=True)), plan)

    run = Run(
        results=tuple(results),
        rules=plan.rules_that_ran(),
        fixing=mode.fixing,
        dry_run=mode.diff,
    )
    # With --fix on stdin the fixed document owns stdout; the report goes to stderr.
    fixed_stdin = from_stdin and args.fix and not args.diff
    _report(run, args, stream_name="stderr" if fixed_stdin else "stdout")
    if fixed_stdin:
        result = results[0]
        sys.stdout.flush()
        sys.stdout.buffer.write(result.output if result.output is not None else data)
        sys.stdout.buffer.flush()
    for result in results:
        if result.error is not None:
            error(str(result.error))
    if args.verbose:
        _explain(run, resolver, documents_checked, args.jobs, plan)
        for note in plan_notes:
            print(f"domxml-lint: {printable(note.text)}", file=sys.stderr)
        _explain_exclusions(finder)
    return exit_code(run, args)


def _validate(args: argparse.Namespace) -> None:
    if STDIN in args.paths and len(args.paths) > 1:
        raise UsageError("`-` (stdin) cannot be combined with other paths")
    if args.stdin_filename and args.paths and args.paths != [STDIN]:
        raise UsageError("--stdin-filename names the document read from stdin; pass `-` as PATH")
    if not args.paths and not args.stdin_filename and not live_options.requested(args):
        raise UsageError("no paths given; try `domxml-lint path/to/vm.xml`, a directory, or `-`")
    if args.statistics and args.diff:
        raise UsageError("--statistics counts findings; use it without --diff")


def _validate_format(args: argparse.Namespace) -> None:
    """Checks on the output format, once the config has had its say."""
    if args.diff and args.output_format not in HUMAN:
        raise UsageError(
            "--diff prints a diff; use it with the text output format (text, concise or full)"
        )
    if args.statistics and args.output_format not in (*HUMAN, "json"):
        raise UsageError("--statistics works with --output-format text, concise, full or json")


def _discovery_overrides(args: argparse.Namespace) -> DiscoveryOverrides:
    return DiscoveryOverrides(
        exclude=_split(args.exclude),
        extend_exclude=tuple(_split(args.extend_exclude) or ()),
        respect_gitignore=args.respect_gitignore,
        force_exclude=args.force_exclude,
    )


def _show(
    args: argparse.Namespace, finder: Discovery, resolver: ConfigResolver, overrides: Overrides
) -> int:
    """--show-files and --show-settings: what a run would check, and how; nothing is linted."""
    from .show import show_files, show_settings

    if args.show_files:
        return show_files(args, finder)
    return show_settings(args, finder, resolver, overrides)


def _report(run: Run, args: argparse.Namespace, *, stream_name: str) -> None:
    if args.output_file:
        buffer = io.StringIO()
        write_output(args.output_format, run, buffer, _output_options(args, colour=False))
        try:
            with open(args.output_file, "w", encoding="utf-8") as handle:
                handle.write(buffer.getvalue())
        except OSError as exc:
            raise UsageError(
                f"--output-file {args.output_file}: cannot write: {exc.strerror or exc}"
            ) from None
        return
    stream = getattr(sys, stream_name)
    colour = args.output_format in HUMAN and use_colour(stream)
    write_output(args.output_format, run, stream, _output_options(args, colour=colour))
    stream.flush()


def _output_options(args: argparse.Namespace, *, colour: bool) -> OutputOptions:
    return OutputOptions(
        colour=colour,
        show_fixes=args.show_fixes,
        statistics=args.statistics,
        quiet=args.quiet,
        root=source_root(),
    )


def _explain(run: Run, resolver: ConfigResolver, files: int, jobs: int, plan: RunPlan) -> None:
    """--verbose: what was read, skipped and left unsaid, on stderr."""

    def say(text: str) -> None:
        print(f"domxml-lint: {printable(text)}", file=sys.stderr)

    configs = resolver.used()
    for config in configs:
        say(f"config: {config.path}")
    if not configs:
        say("config: none found; built-in defaults")
    workers = workers_for(jobs, files)
    how = "serially" if workers == 1 else f"with {workers} processes"
    domains = sum(result.kind == "domain" for result in run.results)
    say(f"checked {documents(files, domains)} {how}")
    # A note many files share (no schema installed, say) is said once, with a count.
    noted: dict[tuple[str, str], list[str]] = {}
    for result in run.results:
        for code, note in result.notes:
            noted.setdefault((code, note), []).append(result.path)
    for (code, note), paths in noted.items():
        if len(paths) == 1:
            say(f"note: {paths[0]}: {code}: {note}")
        else:
            say(f"note: {code}: {note} ({len(paths)} files, the first {paths[0]})")
    host_skipped: dict[tuple[str, ...], int] = {}
    for result in run.results:
        if result.skipped:
            say(f"skipped {result.path}: {result.skip_reason}")
        if result.host_skipped:
            host_skipped[result.host_skipped] = host_skipped.get(result.host_skipped, 0) + 1
    # Once per distinct set of rules, not once per file (2909 lines on a corpus).
    for codes, count in host_skipped.items():
        what = "document" if domains else "file"
        say(f"skipped host-aware rules on {plural(count, what)} (no --host): {', '.join(codes)}")
    for reason, unserved in plan.skipped_for_host_parts():
        say(f"skipped {', '.join(unserved)}: {reason}")
    not_applicable: dict[str, int] = {}
    for result in run.results:
        for label, _count in result.not_applicable:
            not_applicable[label] = not_applicable.get(label, 0) + 1
    for label, count in sorted(not_applicable.items()):
        say(f"rules for {label} skipped on {plural(count, 'document')} that are not such domains")


def exit_code(run: Run, args: argparse.Namespace) -> int:
    results = run.results
    if any(r.error is not None for r in results):
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if any(r.failing for r in results):
        return EXIT_FINDINGS
    if args.diff and any(r.changed for r in results):
        return EXIT_FINDINGS
    if args.exit_non_zero_on_fix and any(r.changed for r in results):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _explain_exclusions(finder: Discovery) -> None:
    for path, why in finder.excluded:
        print(f"domxml-lint: excluded {printable(path)}: {printable(why)}", file=sys.stderr)
    if finder.git_ignored:
        print(
            f"domxml-lint: skipped {plural(finder.git_ignored, 'path')} git ignores "
            "(--no-respect-gitignore checks them)",
            file=sys.stderr,
        )


def _split(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """Repeated, comma-separated option values as one tuple (None: option not given)."""
    if values is None:
        return None
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


# -- rule, rules ------------------------------------------------------------------------


def build_rule_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="domxml-lint rule",
        description="Print a rule's documentation (the page in rules/).",
    )
    parser.add_argument("rule", metavar="NAME-or-CODE")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def rule_command(argv: Sequence[str]) -> int:
    args = build_rule_parser().parse_args(argv)
    ruleset = load_ruleset()
    found = ruleset.get(args.rule)
    if found is None:
        ruleset.matches(args.rule)  # raises with a "did you mean"
        codes = ", ".join(r.code for r in ruleset.matches(args.rule))
        raise UsageError(f"{args.rule!r} is a prefix of several rules ({codes}); name one")
    from .docs import render_rule_page

    if args.output_format == "json":
        import json

        record = _rule_record(found)
        record["explanation"] = found.doc
        print(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        print(render_rule_page(found), end="")
    return EXIT_CLEAN


def build_rules_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="domxml-lint rules",
        description="List every rule: code, name, severity, default or opt-in, needs a host "
        "snapshot, fix. Also writes the rule reference (rules/ in the repository).",
    )
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--select",
        metavar="RULES",
        action="append",
        help="list only these (codes, prefixes, names)",
    )
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument(
        "--write-docs", metavar="DIR", help="write the built-in rules' Markdown pages and index"
    )
    docs.add_argument(
        "--check-docs", metavar="DIR", help="exit 1 if DIR's pages are missing or out of date"
    )
    return parser


def rules_command(argv: Sequence[str]) -> int:
    args = build_rules_parser().parse_args(argv)
    from . import docs as rule_docs

    if args.write_docs:
        changed = rule_docs.write_pages(args.write_docs)
        print(f"{len(changed)} page(s) written or removed in {args.write_docs}")
        return EXIT_CLEAN
    if args.check_docs:
        stale = rule_docs.stale_pages(args.check_docs)
        for name in stale:
            print(f"{os.path.join(args.check_docs, name)}: out of date", file=sys.stderr)
        if stale:
            print(
                f"domxml-lint: run `domxml-lint rules --write-docs {args.check_docs}`",
                file=sys.stderr,
            )
        return EXIT_FINDINGS if stale else EXIT_CLEAN
    ruleset = load_ruleset()
    listed = ruleset.select(select=_split(args.select)) if args.select else list(ruleset)
    if args.output_format == "json":
        import json

        print(json.dumps([_rule_record(r) for r in listed], indent=2, ensure_ascii=False))
        return EXIT_CLEAN
    from .families import family_label
    from .references import rule_basis

    rows = [("CODE", "NAME", "FAMILY", "BASIS", "SEVERITY", "FIX", "DEFAULT", "HOST", "SUMMARY")]
    for item in listed:
        rows.append(
            (
                item.code,
                item.name,
                family_label(item.code),
                rule_basis(item),
                item.severity.value,
                item.fix.value if item.fix else "-",
                "yes" if item.default else "opt-in",
                "plan" if item.stage is Stage.PLAN else "yes" if item.needs_host else "-",
                item.summary,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return EXIT_CLEAN


def _rule_record(item) -> dict:
    from .families import family_label
    from .references import rule_basis, rule_references
    from .report import documentation_url

    return {
        "code": item.code,
        "name": item.name,
        "family": family_label(item.code),
        "basis": rule_basis(item),
        "severity": item.severity.value,
        "default": item.default,
        "needs_host": item.needs_host,
        "plan": item.stage is Stage.PLAN,
        "needs": sorted(part.name.lower() for part in item.needs),
        "applies_to": item.domains.label,
        "libvirt": list(item.libvirt),
        "fix": item.fix.value if item.fix else None,
        "summary": item.summary,
        "options": dict(item.options),
        "origin": item.origin,
        "source_file": item.source_file,
        "url": documentation_url(item),
        "references": [r._asdict() for r in rule_references(item)],
    }


# -- host -------------------------------------------------------------------------------


def host_command(argv: Sequence[str]) -> int:
    """``domxml-lint host ...``: handed to ``domxml_lint.host.cli.main(argv)``."""
    try:
        module = importlib.import_module(f"{__package__}.host.cli")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"{__package__}.host", f"{__package__}.host.cli"):
            raise
        raise UsageError(
            "`domxml-lint host` is not available: this installation has no host snapshot "
            "support (the domxml_lint.host module); install a release that includes it"
        ) from None
    return module.main(list(argv))


# -- completion -------------------------------------------------------------------------


def completion_command(argv: Sequence[str]) -> int:
    """``domxml-lint completion bash|zsh|fish``: a completion script, made from the parsers."""
    from .completion import SHELLS, script

    parser = _Parser(
        prog="domxml-lint completion",
        description="Print a shell completion script, generated from the command's own "
        "options. bash: `domxml-lint completion bash > "
        "~/.local/share/bash-completion/completions/domxml-lint`; zsh: into a directory of "
        "$fpath as _domxml-lint; fish: > ~/.config/fish/completions/domxml-lint.fish.",
    )
    parser.add_argument("shell", choices=SHELLS)
    args = parser.parse_args(argv)
    sys.stdout.write(script(args.shell))
    return EXIT_CLEAN


# -- server -----------------------------------------------------------------------------


def server_command(argv: Sequence[str]) -> int:
    """``domxml-lint server``: the language server, in ``domxml_lint.lsp`` (pygls is
    imported only there)."""
    from .lsp import main as serve

    return serve(list(argv))


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "check": check_command,
    "rule": rule_command,
    "rules": rules_command,
    "host": host_command,
    "completion": completion_command,
    "server": server_command,
}


if __name__ == "__main__":  # pragma: no cover
    run()
