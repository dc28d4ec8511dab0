"""Are the findings true? A triage sheet and precision figures for a set of domain XML files.

    python tools/precision.py DIR [--host SNAPSHOT] [--select RULES] [--ignore RULES]
                              [--sheet triage.tsv] [--verdicts verdicts.tsv] [--json]

Every ``*.xml`` below ``DIR`` whose root is ``<domain>`` is linted with the default
selection (or ``--select``/``--ignore``), optionally against a host snapshot (``--host``, e.g.
``fixtures/xml/hosts/epyc-2node.xml``). Files that are not well-formed or not a domain are
counted and listed, never silently dropped.

Output:

- ``--sheet FILE`` (default: ``DIR/triage.tsv``; ``-`` for none): one row per finding
  (``file``, ``code``, ``name``, ``severity``, ``line``, ``column``, ``message``, and the
  ``verdict`` and ``reason`` columns, filled in from ``--verdicts`` where a verdict exists),
  so that a person can mark each finding ``true`` or ``false``.
- On stdout: per-rule counts (findings, files, severity) and the noise picture (files with
  any finding, with a warning or an error; the rules that make most findings); with
  ``--verdicts`` also precision per rule and overall, precision of the error findings, the
  findings still unjudged and the verdicts that no longer match a finding. ``--json`` prints
  the same as one JSON object.

The verdict file (``verdicts.tsv``, tab-separated, with a header) has the columns ``file``
(relative to ``DIR``), ``code``, ``line``, ``verdict`` (``true`` or ``false``) and ``reason``.
A verdict judges every finding of that rule on that line of that file. Lines starting with
``#`` are comments. Precision is true / (true + false) over the judged findings.

The exit code is 0, or 1 when ``--fail-under PERCENT`` is given and overall precision (or any
error finding judged false) falls short, or 2 for bad usage.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from domxml_lint import api  # noqa: E402
from domxml_lint.errors import DomxmlLintError  # noqa: E402
from domxml_lint.host.load import load_host  # noqa: E402

SHEET_COLUMNS = (
    "file",
    "code",
    "name",
    "severity",
    "line",
    "column",
    "message",
    "verdict",
    "reason",
)
VERDICT_COLUMNS = ("file", "code", "line", "verdict", "reason")
VERDICTS = ("true", "false")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Row:
    """One finding on one file."""

    file: str
    code: str
    name: str
    severity: str
    line: int
    column: int
    message: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.file, self.code, self.line)


@dataclass(frozen=True)
class Verdict:
    file: str
    code: str
    line: int
    verdict: str
    reason: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.file, self.code, self.line)


@dataclass
class Run:
    """What linting the directory gave."""

    checked: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> why
    rows: list[Row] = field(default_factory=list)


def xml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.xml") if p.is_file())


def lint_directory(
    directory: Path,
    *,
    host: object = None,
    select: str | None = None,
    ignore: str | None = None,
) -> Run:
    run = Run()
    linter = api.build_linter(host=host, select=select, ignore=ignore)
    for path in xml_files(directory):
        name = path.relative_to(directory).as_posix()
        try:
            doc = api._document(path)
        except api.NotADomainError as exc:
            run.skipped[name] = f"not a domain: {exc}"
            continue
        except DomxmlLintError as exc:
            run.skipped[name] = f"cannot be read: {exc}"
            continue
        run.checked.append(name)
        for finding in linter.check(doc).findings:
            run.rows.append(
                Row(
                    file=name,
                    code=finding.code,
                    name=finding.name,
                    severity=str(finding.severity),
                    line=finding.line,
                    column=finding.column,
                    message=finding.message,
                )
            )
    return run


def read_verdicts(path: Path) -> list[Verdict]:
    """Read a verdict file; a malformed row is an error naming the file and line."""
    verdicts: list[Verdict] = []
    with path.open(newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        reader = csv.DictReader(lines, delimiter="\t")
        missing = [c for c in VERDICT_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise SystemExit(f"{path}: missing columns {', '.join(missing)} in the header")
        for number, record in enumerate(reader, start=2):
            verdict = (record["verdict"] or "").strip().lower()
            if verdict not in VERDICTS:
                raise SystemExit(
                    f"{path}:{number}: verdict {record['verdict']!r} is not one of "
                    f"{', '.join(VERDICTS)}"
                )
            try:
                line = int(record["line"])
            except (TypeError, ValueError):
                raise SystemExit(
                    f"{path}:{number}: line {record['line']!r} is not a number"
                ) from None
            verdicts.append(
                Verdict(
                    file=record["file"].strip(),
                    code=record["code"].strip().upper(),
                    line=line,
                    verdict=verdict,
                    reason=(record["reason"] or "").strip(),
                )
            )
    return verdicts


def write_sheet(path: Path | None, rows: Sequence[Row], verdicts: dict[tuple, Verdict]) -> None:
    handle = sys.stdout if path is None else path.open("w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(SHEET_COLUMNS)
        for row in rows:
            judged = verdicts.get(row.key)
            writer.writerow(
                (
                    row.file,
                    row.code,
                    row.name,
                    row.severity,
                    row.line,
                    row.column,
                    row.message,
                    judged.verdict if judged else "",
                    judged.reason if judged else "",
                )
            )
    finally:
        if path is not None:
            handle.close()


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def summarise(run: Run, verdicts: Iterable[Verdict] | None) -> dict:
    rows = run.rows
    by_rule: dict[str, dict] = {}
    for code in sorted({r.code for r in rows}):
        mine = [r for r in rows if r.code == code]
        by_rule[code] = {
            "name": mine[0].name,
            "severity": dict(Counter(r.severity for r in mine)),
            "findings": len(mine),
            "files": len({r.file for r in mine}),
        }
    files_any = {r.file for r in rows}
    files_warning = {r.file for r in rows if r.severity in ("warning", "error")}
    files_error = {r.file for r in rows if r.severity == "error"}
    top = Counter(r.code for r in rows).most_common(5)
    summary: dict = {
        "files_checked": len(run.checked),
        "files_skipped": run.skipped,
        "findings": len(rows),
        "by_severity": {s: sum(1 for r in rows if r.severity == s) for s in SEVERITIES},
        "noise": {
            "files_with_any": len(files_any),
            "files_with_warning_or_error": len(files_warning),
            "files_with_error": len(files_error),
            "percent_with_any": percent(len(files_any), len(run.checked)),
            "percent_with_warning_or_error": percent(len(files_warning), len(run.checked)),
            "top_rules": [
                {"code": c, "findings": n, "share": percent(n, len(rows))} for c, n in top
            ],
        },
        "rules": by_rule,
    }
    if verdicts is None:
        return summary
    index = {v.key: v for v in verdicts}
    judged_true: Counter[str] = Counter()
    judged_false: Counter[str] = Counter()
    unjudged: list[Row] = []
    false_errors: list[dict] = []
    for row in rows:
        verdict = index.get(row.key)
        if verdict is None:
            unjudged.append(row)
        elif verdict.verdict == "true":
            judged_true[row.code] += 1
        else:
            judged_false[row.code] += 1
            if row.severity == "error":
                false_errors.append({**asdict(row), "reason": verdict.reason})
    for code, info in by_rule.items():
        t, f = judged_true[code], judged_false[code]
        info.update(true=t, false=f, precision=percent(t, t + f))
    live = {r.key for r in rows}
    errors = [r for r in rows if r.severity == "error" and r.key in index]
    errors_true = sum(1 for r in errors if index[r.key].verdict == "true")
    total_true, total_false = sum(judged_true.values()), sum(judged_false.values())
    summary["precision"] = {
        "true": total_true,
        "false": total_false,
        "unjudged": len(unjudged),
        "overall": percent(total_true, total_true + total_false),
        "errors": percent(errors_true, len(errors)),
        "false_errors": false_errors,
        "unjudged_findings": [asdict(r) for r in unjudged],
        "stale_verdicts": [asdict(v) for v in index.values() if v.key not in live],
    }
    return summary


def print_text(summary: dict, out=None) -> None:
    stream = sys.stdout if out is None else out

    def say(text: str = "") -> None:
        print(text, file=stream)

    noise = summary["noise"]
    say(
        f"{summary['files_checked']} files checked, {len(summary['files_skipped'])} skipped; "
        f"{summary['findings']} findings "
        f"({', '.join(f'{n} {s}' for s, n in summary['by_severity'].items())})"
    )
    for name, why in sorted(summary["files_skipped"].items()):
        say(f"  skipped {name}: {why}")
    say(
        f"noise: {noise['files_with_any']} files with a finding ({noise['percent_with_any']} %), "
        f"{noise['files_with_warning_or_error']} with a warning or error "
        f"({noise['percent_with_warning_or_error']} %), {noise['files_with_error']} with an error"
    )
    say(
        "top rules: "
        + ", ".join(f"{t['code']} {t['findings']} ({t['share']} %)" for t in noise["top_rules"])
    )
    judged = "precision" in summary
    say()
    header = f"{'CODE':6} {'NAME':36} {'FINDINGS':>8} {'FILES':>5}  SEVERITY"
    if judged:
        header += f"{'':14}{'TRUE':>5} {'FALSE':>5} {'PRECISION':>9}"
    say(header)
    for code, info in summary["rules"].items():
        severity = ",".join(f"{n} {s}" for s, n in sorted(info["severity"].items()))
        line = f"{code:6} {info['name']:36} {info['findings']:>8} {info['files']:>5}  {severity:22}"
        if judged:
            p = info["precision"]
            line += f"{info['true']:>5} {info['false']:>5} {'-' if p is None else f'{p} %':>9}"
        say(line)
    if not judged:
        return
    p = summary["precision"]
    say()
    say(
        f"precision: {p['overall']} % ({p['true']} true, {p['false']} false, "
        f"{p['unjudged']} unjudged); error findings: {p['errors']} % true"
    )
    for row in p["false_errors"]:
        say(f"  false error: {row['file']}:{row['line']} {row['code']} ({row['reason']})")
    for row in p["unjudged_findings"]:
        say(f"  unjudged: {row['file']}:{row['line']} {row['code']} {row['message']}")
    for v in p["stale_verdicts"]:
        say(f"  stale verdict (no such finding now): {v['file']}:{v['line']} {v['code']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", action="append", default=[], help="host snapshot (repeatable)")
    parser.add_argument("--select", help="rules to run instead of the default selection")
    parser.add_argument("--ignore", help="rules to leave out")
    parser.add_argument(
        "--sheet", help="triage sheet to write (default DIR/triage.tsv; - for none)"
    )
    parser.add_argument(
        "--verdicts", type=Path, help="verdict file (file, code, line, verdict, reason)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--fail-under",
        type=float,
        help="exit 1 when overall precision is below this percentage or an error finding is false",
    )
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"{args.directory} is not a directory")
    host = load_host(*args.host) if args.host else None
    run = lint_directory(args.directory, host=host, select=args.select, ignore=args.ignore)
    verdicts = read_verdicts(args.verdicts) if args.verdicts else None
    index = {v.key: v for v in verdicts or ()}
    if args.sheet != "-":
        sheet = Path(args.sheet) if args.sheet else args.directory / "triage.tsv"
        write_sheet(sheet, run.rows, index)
    summary = summarise(run, verdicts)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        print_text(summary)
    if args.fail_under is not None and verdicts is not None:
        p = summary["precision"]
        if p["false_errors"] or (p["overall"] is not None and p["overall"] < args.fail_under):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
