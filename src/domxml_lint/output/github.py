"""GitHub Actions workflow commands: one annotation per finding.

``::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=DX401 name::message``,
escaped as the Actions runner expects (actions/toolkit ``command.ts``).
"""

from __future__ import annotations

import os
from typing import TextIO

from ..findings import Severity
from ..report import Run
from . import OutputOptions, relative_path

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: object) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    head = f"::{level} {props}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def write(run: Run, stream: TextIO, options: OutputOptions) -> None:
    root = options.root or os.getcwd()
    for result in run.results:
        # A live libvirt domain is no file in the repository: its annotations carry no
        # file=, and their message starts with where the finding is.
        domain = result.kind in ("domain", "connection")
        path = None if domain else relative_path(result.path, root) or result.path
        for finding in result.findings:
            where = f"{result.path}:{finding.line}:{finding.column}: " if domain else ""
            stream.write(
                command(
                    LEVEL[finding.severity],
                    where + finding.message,
                    file=path,
                    line=None if domain else finding.line,
                    col=None if domain else finding.column,
                    endLine=None if domain else finding.end_line,
                    endColumn=None if domain else finding.end_column,
                    title=f"{finding.code} {finding.name}",
                )
                + "\n"
            )
        if result.error is not None:
            error = result.error
            message = error.message + (f" ({error.hint})" if error.hint else "")
            title = "fix not written" if result.fix_not_written else "file not checked"
            if domain:
                message = f"{result.path}: {message}"
                title = title.replace("file", "domain")
            stream.write(
                command(
                    "error",
                    message,
                    file=path,
                    line=None if domain else error.line,
                    col=None if domain else error.column,
                    title=f"domxml-lint: {title}",
                )
                + "\n"
            )
