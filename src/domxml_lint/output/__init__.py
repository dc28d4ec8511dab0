"""Output formats, from one :class:`~domxml_lint.report.Run`.

Each format module has ``write(run, stream, options)``. Formats write findings
only; errors also go to stderr, one line each, from the command line.

``text`` is ``concise`` (one line per finding): what pre-commit, editors'
problem matchers and scripts read; ``full`` adds the source line with a caret
under the finding, as ruff's default output does.
"""

from __future__ import annotations

import importlib
import os
from typing import TextIO

from .._records import NamedTuple
from ..report import Run

FORMATS = ("text", "concise", "full", "json", "sarif", "github", "gitlab", "junit", "rdjson")
#: Formats for people: a summary line, colour on a terminal, --diff and --statistics.
HUMAN = ("text", "concise", "full")
#: Formats that need the linted text to show lines or convert columns.
NEED_SOURCE = ("full", "rdjson")
#: Formats that show the edits of each finding's fix (the others show at most its title).
NEED_EDITS = ("json", "sarif", "rdjson")
_MODULES = {"text": "text", "concise": "text"}


class OutputOptions(NamedTuple):
    """How to present a run. ``root``: where repository-relative paths start (None: the
    current directory)."""

    colour: bool = False
    show_fixes: bool = False
    statistics: bool = False
    quiet: bool = False
    root: str | None = None


def write(fmt: str, run: Run, stream: TextIO, options: OutputOptions) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}")
    # Only the chosen format's module is imported (sarif alone costs ~6 ms).
    module = importlib.import_module(f"{__name__}.{_MODULES.get(fmt, fmt)}")
    module.write(run, stream, options)


def source_root(cwd: str | None = None) -> str:
    """Where repository-relative paths start: $GITHUB_WORKSPACE when the current
    directory is inside it, else the nearest directory above holding ``.git``,
    else the current directory."""
    here = os.path.abspath(cwd or os.getcwd())
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and _inside(here, os.path.abspath(workspace)):
        return os.path.abspath(workspace)
    current = here
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return here
        current = parent


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def relative_path(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` with / separators, or None when outside it."""
    full = os.path.abspath(path)
    if not _inside(full, root):
        return None
    return os.path.relpath(full, root).replace(os.sep, "/")


def rules_by_code(run: Run) -> dict:
    return {r.code: r for r in run.rules}


def display_path(result, root: str) -> str:
    """Where a result is, for machine formats: repository-relative for files in the
    repository, as given otherwise (absolute paths, stdin, live domains)."""
    if result.kind in ("domain", "connection") or result.path == "-":
        return result.path
    return relative_path(result.path, root) or result.path
