"""How far domxml-lint agrees with libvirt 10.7 on libvirt's own QEMU test inputs.

    python tools/agreement.py [--json] [--select RULES] [--ignore RULES] [--shared DIR]

For every row of ``libvirt-verdicts/qemuxmlconf-verdicts.tsv`` (in ``../shared``, or
``$DOMXML_LINT_SHARED``, or ``--shared``) the corpus input is linted with every rule
(``--select ALL`` unless told otherwise) against the host libvirt's test ran it on:
``capabilities/caps.<arch>.xml`` and the domain capabilities of the newest QEMU libvirt 10.7
knows for that arch (the versions are read from ``libvirt-verdicts/README.md``). The domain
capabilities file follows the guest: ``-q35`` for a q35 machine, ``-virt`` for ``virt``,
else the plain one; a ``type='qemu'`` guest takes a TCG file (``-tcg``, ``-tcg-virt``)
where there is one; a missing variant falls back to the others. Checks whose behaviour
changed between releases follow libvirt 10.7 and that QEMU version (``libvirt-version``,
``qemu-version``). DX002 (schema-invalid) validates against the corpus's own schemas
(libvirt 10.7's).

Counted (an "error" is a finding of severity error):

- recall: rejected inputs with at least one error; and those where some error *carries
  libvirt's reason* (below);
- false errors: accepted inputs with any error, and libvirt-written outputs
  (``NAME.<arch>-latest.xml`` of accepted inputs) with any error;
- per area: each rejection is classified by matching libvirt's message against the message
  format strings of ``docs/libvirt-checks.md`` section 3 (``%s``, ``%d``, ``%u``, ``%llu``
  ... match anything, ``…`` ends a truncated format); the section gives the area, the most
  specific matching row (most literal characters) wins. The generic messages that section
  2.2 says the schema catches ("Invalid value for attribute ...") form the area "schema".
  Unmatched messages are "unclassified".

"Carries libvirt's reason": libvirt's message, without its error-class prefix
(:data:`ERROR_CLASSES`, e.g. "unsupported configuration: ", "XML error: "), normalised, occurs
in the finding's message normalised the same way. Normalising folds case, collapses
whitespace, turns typographic and double quotes and backticks into ``'``, and drops a
trailing full stop. Nothing else is forgiven: the finding must say what libvirt says.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = Path(os.environ.get("DOMXML_LINT_SHARED", ROOT.parent / "shared"))
#: The libvirt whose test suite gave the verdicts.
LIBVIRT_VERSION = "10.7.0"

#: libvirt's error-class prefixes (virerror.c), stripped before comparing messages.
ERROR_CLASSES = (
    "unsupported configuration: ",
    "XML error: ",
    "internal error: ",
    "invalid argument: ",
    "operation failed: ",
    "Requested operation is not valid: ",
    "operation forbidden: ",
    "configuration file syntax error: ",
    "XML document failed to validate against schema: ",
)

UNCLASSIFIED = "unclassified"
SCHEMA_AREA = "schema"


@dataclass(frozen=True)
class Verdict:
    """One row of libvirt's verdicts."""

    file: str  # relative to corpus/libvirt, e.g. domain/foo.xml
    arch: str
    verdict: str  # accept or reject
    message: str


@dataclass
class Outcome:
    """What domxml-lint said about one input (or one libvirt-written output)."""

    file: str
    arch: str
    verdict: str
    message: str
    area: str
    host: list[str]
    errors: list[dict] = field(default_factory=list)
    carried: bool = False


# -- reading libvirt's material --------------------------------------------------------


def load_verdicts(shared: Path) -> list[Verdict]:
    path = shared / "libvirt-verdicts" / "qemuxmlconf-verdicts.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Verdict(r["file"], r["arch"], r["verdict"], r.get("libvirt_message") or "")
            for r in rows
        ]


def qemu_versions(shared: Path) -> dict[str, str]:
    """arch -> the QEMU version libvirt's tests used, read from the verdicts' README."""
    text = (shared / "libvirt-verdicts" / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"per architecture[^:]*:(.*?);", " ".join(text.split()), re.S)
    if sentence is None:
        raise SystemExit("libvirt-verdicts/README.md: no per-architecture QEMU versions found")
    versions = dict(
        re.findall(r"([a-z][a-z0-9_]*) (?:QEMU )?([0-9]+\.[0-9]+\.[0-9]+)", sentence.group(1))
    )
    if not versions:
        raise SystemExit("libvirt-verdicts/README.md: could not read the QEMU versions")
    return versions


class Areas:
    """libvirt message -> area, from the check inventory's message format strings."""

    def __init__(self, inventory: Path) -> None:
        self.rows: list[tuple[str, re.Pattern[str], int]] = []
        text = inventory.read_text(encoding="utf-8")
        section3 = text.split("\n## 3.", 1)[1].split("\n## 4.", 1)[0]
        short = _short_area_names(text)
        for number, (title, body) in enumerate(
            re.findall(r"\n### 3\.\d+ ([^\n]+)\n(.*?)(?=\n### |\Z)", section3, re.S)
        ):
            area = (
                short[number]
                if short and len(short) == _count_areas(section3)
                else title.split(" (")[0]
            )
            for line in body.splitlines():
                cells = _cells(line)
                if len(cells) == 5 and cells[0].startswith("`") and cells[1] != "message":
                    self._add(area, cells[1])
        schema_note = re.search(
            r"\*\*\d+ parse errors the RelaxNG schema already catches\*\*(.*?)\n- ", text, re.S
        )
        if schema_note:
            # Families of messages: libvirt appends what it expected ("... Expected ...").
            for message in re.findall(r"\"([^\"]*%s[^\"]*)\"", schema_note.group(1)):
                self._add(SCHEMA_AREA, message + "…")

    def _add(self, area: str, message_format: str) -> None:
        compiled = _format_regex(message_format)
        if compiled is not None:
            literal = len(re.sub(r"%[-#0-9.$]*(?:ll|l|z|h)?[sduxoif]|…", "", message_format))
            self.rows.append((area, compiled, literal))

    def area_of(self, message: str) -> str:
        reason = normalise(strip_class(message))
        best = max(
            ((literal, area) for area, regex, literal in self.rows if regex.match(reason)),
            default=None,
        )
        return best[1] if best else UNCLASSIFIED


def _count_areas(section3: str) -> int:
    return len(re.findall(r"\n### 3\.\d+ ", section3))


def _short_area_names(text: str) -> list[str]:
    """The area names of the counts table (section 2.1), in the order of section 3."""
    table = text.split("### 2.1", 1)[1].split("\n### ", 1)[0] if "### 2.1" in text else ""
    names = []
    for line in table.splitlines():
        cells = _cells(line)
        if len(cells) >= 2 and cells[0] not in ("area", "---") and not cells[0].startswith("**"):
            names.append(cells[0])
    return names


def _cells(line: str) -> list[str]:
    line = line.strip()
    if not line.startswith("|"):
        return []
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]


def _format_regex(message_format: str) -> re.Pattern[str] | None:
    text = normalise(message_format.replace("`", ""))
    truncated = text.endswith("…")
    text = text.rstrip("…")
    if not text:
        return None
    parts = re.split(r"%[-#0-9.$]*(?:ll|l|z|h)?[sduxoif]", text)
    pattern = ".*?".join(re.escape(p) for p in parts)
    return re.compile(pattern + (".*" if truncated else r"\Z"), re.S)


# -- comparing messages ----------------------------------------------------------------------


def strip_class(message: str) -> str:
    for prefix in ERROR_CLASSES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": "'", "\u201d": "'", '"': "'", "`": "'"}
)


def normalise(text: str) -> str:
    text = " ".join(text.translate(_QUOTES).split()).casefold()
    return text[:-1] if text.endswith(".") else text


def carries(libvirt_message: str, finding_message: str) -> bool:
    """Whether the finding's message says libvirt's reason (see the module docstring)."""
    reason = normalise(strip_class(libvirt_message))
    return bool(reason) and reason in normalise(finding_message)


# -- running ---------------------------------------------------------------------------------


def domcaps_file(
    corpus: Path, arch: str, version: str, machine: str, virt_type: str
) -> Path | None:
    """The domain capabilities file for a guest, or None if libvirt's corpus has none."""
    machine = machine or ""
    if "q35" in machine:
        family = "q35"
    elif machine.startswith("virt"):
        family = "virt"
    else:
        family = ""
    kvm = [f"-{family}" if family else "", "", "-virt", "-q35"]
    tcg = [f"-tcg-{family}" if family else "-tcg", "-tcg", "-tcg-virt"]
    order = (tcg + kvm) if virt_type == "qemu" else (kvm + tcg)
    for variant in dict.fromkeys(order):
        candidate = corpus / "domaincaps" / f"qemu_{version}{variant}.{arch}.xml"
        if candidate.is_file():
            return candidate
    return None


class Harness:
    """Lints corpus files against the host libvirt's tests used for their arch and machine."""

    def __init__(
        self, shared: Path, select: Sequence[str] = ("ALL",), ignore: Sequence[str] = ()
    ) -> None:
        from domxml_lint.api import build_linter

        self.shared = shared
        self.corpus = shared / "corpus" / "libvirt"
        self.versions = qemu_versions(shared)
        self.select = list(select)
        self.ignore = list(ignore)
        self._build_linter = build_linter
        self._linters: dict[tuple[str, ...], object] = {}
        self.options = {"schema-invalid": {"schema-dir": str(self.corpus / "schemas")}}

    def host_files(self, arch: str, root) -> list[Path]:
        os_type = root.find("os/type")
        machine = os_type.get("machine", "") if os_type is not None else ""
        files = []
        caps = self.corpus / "capabilities" / f"caps.{arch}.xml"
        if caps.is_file():
            files.append(caps)
        version = self.versions.get(arch)
        if version:
            domcaps = domcaps_file(self.corpus, arch, version, machine, root.get("type", ""))
            if domcaps is not None:
                files.append(domcaps)
        return files

    def lint(self, relative: str, arch: str) -> tuple[list, list[str]]:
        """The findings for one corpus file, and the host files used."""
        from domxml_lint.document import Document
        from domxml_lint.host import load_host

        path = self.corpus / relative
        doc = Document.parse(path.read_bytes(), str(path))
        files = self.host_files(arch, doc.root)
        key = tuple(str(f) for f in files)
        linter = self._linters.get(key)
        if linter is None:
            host = load_host(*files) if files else None
            # the releases libvirt's test ran: checks that changed between them follow these
            linter = self._linters[key] = self._build_linter(
                host=host,
                select=self.select,
                ignore=self.ignore,
                options=self.options,
                libvirt_version=LIBVIRT_VERSION,
                qemu_version=self.versions.get(arch),
            )
        return linter.check(doc).findings, [f.name for f in files]  # type: ignore[attr-defined]


def output_of(verdict: Verdict) -> str:
    """The file libvirt's test wrote back for an accepted input."""
    stem = verdict.file[: -len(".xml")]
    return f"{stem}.{verdict.arch}-latest.xml"


def evaluate(
    shared: Path = DEFAULT_SHARED, select: Sequence[str] = ("ALL",), ignore: Sequence[str] = ()
) -> dict:
    """Lint every verdict row (and every libvirt-written output); return the outcomes."""
    harness = Harness(shared, select, ignore)
    areas = Areas(shared / "docs" / "libvirt-checks.md")
    inputs: list[Outcome] = []
    outputs: list[Outcome] = []
    for verdict in load_verdicts(shared):
        inputs.append(_outcome(harness, areas, verdict, verdict.file))
        if verdict.verdict == "accept" and (harness.corpus / output_of(verdict)).is_file():
            outputs.append(_outcome(harness, areas, verdict, output_of(verdict)))
    return {"inputs": inputs, "outputs": outputs}


def _outcome(harness: Harness, areas: Areas, verdict: Verdict, relative: str) -> Outcome:
    findings, host = harness.lint(relative, verdict.arch)
    errors = [
        {"code": f.code, "name": f.name, "line": f.line, "message": f.message}
        for f in findings
        if f.severity.value == "error"
    ]
    rejected = verdict.verdict == "reject"
    return Outcome(
        file=relative,
        arch=verdict.arch,
        verdict=verdict.verdict,
        message=verdict.message,
        area=areas.area_of(verdict.message) if rejected else "",
        host=host,
        errors=errors,
        carried=rejected and any(carries(verdict.message, e["message"]) for e in errors),
    )


def summarise(result: dict, exclude: Iterable[tuple[str, str]] = ()) -> dict:
    """The figures: recall, false errors and the per-area table (``exclude``: (file, arch))."""
    skipped = set(exclude)
    inputs = [o for o in result["inputs"] if (o.file, o.arch) not in skipped]
    rejected = [o for o in inputs if o.verdict == "reject"]
    accepted = [o for o in inputs if o.verdict == "accept"]
    outputs = result["outputs"]
    per_area: dict[str, Counter] = {}
    for outcome in rejected:
        counts = per_area.setdefault(outcome.area, Counter())
        counts["rejected"] += 1
        counts["any_error"] += bool(outcome.errors)
        counts["carries_reason"] += outcome.carried
    return {
        "rejected": len(rejected),
        "rejected_with_error": sum(1 for o in rejected if o.errors),
        "rejected_with_reason": sum(1 for o in rejected if o.carried),
        "accepted": len(accepted),
        "accepted_with_error": sum(1 for o in accepted if o.errors),
        "outputs": len(outputs),
        "outputs_with_error": sum(1 for o in outputs if o.errors),
        "per_area": {area: dict(c) for area, c in sorted(per_area.items())},
        "false_errors": [
            {"file": o.file, "arch": o.arch, "errors": o.errors}
            for o in (*accepted, *outputs)
            if o.errors
        ],
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    -"


def render(summary: dict, title: str, *, brief: bool = False) -> str:
    """The figures as a table; ``brief``: one line per false error, without messages."""
    lines = [title, ""]
    rejected, accepted, outputs = summary["rejected"], summary["accepted"], summary["outputs"]
    rows = [
        ("rejected inputs with an error", summary["rejected_with_error"], rejected),
        ("... whose error carries libvirt's reason", summary["rejected_with_reason"], rejected),
        ("accepted inputs with an error (false)", summary["accepted_with_error"], accepted),
        ("libvirt-written outputs with an error (false)", summary["outputs_with_error"], outputs),
    ]
    width = max(len(r[0]) for r in rows)
    for label, part, whole in rows:
        lines.append(f"  {label:<{width}}  {part:4d} / {whole:<4d} {_percent(part, whole)}")
    area_width = max([len("area"), *(len(a) for a in summary["per_area"])])
    lines += ["", f"  {'rejections by area':<{area_width}}  rejected  error  reason"]
    for area, counts in summary["per_area"].items():
        lines.append(
            f"  {area:<{area_width}}  {counts.get('rejected', 0):8d} "
            f"{counts.get('any_error', 0):6d} {counts.get('carries_reason', 0):7d}"
        )
    if summary["false_errors"]:
        lines += ["", "  false errors:"]
        for item in summary["false_errors"]:
            if brief:
                codes = ", ".join(sorted({e["code"] for e in item["errors"]}))
                lines.append(f"    {item['file']} ({item['arch']}): {codes}")
                continue
            for error in item["errors"]:
                lines.append(
                    f"    {item['file']} ({item['arch']}): {error['code']} {error['name']}: "
                    f"{error['message']}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--json", action="store_true", help="print the figures and outcomes as JSON"
    )
    parser.add_argument("--select", default="ALL", help="rules to run (default: ALL)")
    parser.add_argument("--ignore", default="", help="rules to skip, e.g. DX002")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared directory")
    args = parser.parse_args(argv)
    if not (args.shared / "libvirt-verdicts").is_dir():
        parser.error(f"no libvirt-verdicts in {args.shared}; pass --shared DIR")
    from domxml_lint.schema import SCHEMA_DIR_ENV

    # The corpus's schemas (libvirt 10.7's), whatever libvirt this machine has.
    os.environ[SCHEMA_DIR_ENV] = str(args.shared / "corpus" / "libvirt" / "schemas")
    select = [s for s in args.select.split(",") if s]
    ignore = [s for s in args.ignore.split(",") if s]
    result = evaluate(args.shared, select, ignore)
    summary = summarise(result)
    if args.json:
        json.dump(
            {
                "select": select,
                "ignore": ignore,
                "summary": summary,
                "inputs": [asdict(o) for o in result["inputs"]],
                "outputs": [asdict(o) for o in result["outputs"]],
            },
            sys.stdout,
            indent=2,
        )
        print()
    else:
        rules = ",".join(select) + (f" without {','.join(ignore)}" if ignore else "")
        print(render(summary, f"domxml-lint against libvirt 10.7's verdicts (rules: {rules})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
