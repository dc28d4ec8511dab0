"""GitLab Code Quality: a JSON list of issues for ``artifacts: reports: codequality``.

Each issue has ``description``, ``check_name`` (the rule's code), a
``fingerprint`` that stays the same while the finding does (it hashes the
rule, the file, the element's XPath and the message, not the line, so edits
elsewhere in the file do not make it "new"), ``severity`` and
``location.path``/``lines.begin``. Severities: error → ``critical``, warning
→ ``major``, info → ``info``. Files that could not be checked are issues too
(``check_name`` ``domxml-lint/file-not-checked``, severity ``blocker``).
"""

from __future__ import annotations

import hashlib
import os
from typing import TextIO

from ..findings import Severity
from ..report import Run
from . import OutputOptions, display_path
from ._safe import json_text

SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def issues(run: Run, root: str) -> list[dict]:
    out: list[dict] = []
    seen: dict[str, int] = {}
    for result in run.results:
        path = display_path(result, root)
        for finding in result.findings:
            key = "\0".join((finding.code, path, finding.path, finding.message))
            out.append(
                {
                    "type": "issue",
                    "description": f"{finding.code} {finding.message} ({finding.name})",
                    "check_name": finding.code,
                    "fingerprint": _fingerprint(key, seen),
                    "severity": SEVERITY[finding.severity],
                    "location": {
                        "path": path,
                        "lines": {"begin": finding.line, "end": finding.end_line},
                    },
                }
            )
        if result.error is not None:
            check = "fix-not-written" if result.fix_not_written else "file-not-checked"
            out.append(
                {
                    "type": "issue",
                    "description": str(result.error),
                    "check_name": f"domxml-lint/{check}",
                    "fingerprint": _fingerprint("\0".join((check, path)), seen),
                    "severity": "blocker",
                    "location": {"path": path, "lines": {"begin": result.error.line or 1}},
                }
            )
    return out


def _fingerprint(key: str, seen: dict[str, int]) -> str:
    # Identical findings in one file (two disks with the same message) get 0, 1, ...
    count = seen.get(key, 0)
    seen[key] = count + 1
    data = f"{key}\0{count}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()[:32]


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    stream.write(json_text(issues(run, options.root or os.getcwd())) + "\n")
