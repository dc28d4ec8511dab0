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
    for result in run.results:
        path = relative_path(result.path, options.root or os.getcwd()) or result.path
        for finding in result.findings:
            stream.write(
                command(
                    LEVEL[finding.severity],
                    finding.message,
                    file=path,
                    line=finding.line,
                    col=finding.column,
                    endLine=finding.end_line,
                    endColumn=finding.end_column,
                    title=f"{finding.code} {finding.name}",
                )
                + "\n"
            )
        if result.error is not None:
            error = result.error
            message = error.message + (f" ({error.hint})" if error.hint else "")
            stream.write(
                command(
                    "error",
                    message,
                    file=path,
                    line=error.line,
                    col=error.column,
                    title="domxml-lint: file not checked",
                )
                + "\n"
            )
