"""Output formats: text, json, sarif, github and junit, from one :class:`~domxml_lint.report.Run`.

Each format module has ``write(run, stream, options)``. Formats write findings
only; errors also go to stderr, one line each, from the command line.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import NamedTuple, TextIO

from ..report import Run

FORMATS = ("text", "json", "sarif", "github", "junit")


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
    module = importlib.import_module(f"{__name__}.{fmt}")
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


# A file name that is not valid UTF-8 reaches us with its bad bytes as lone surrogates
# (os.fsdecode); control characters are legal in POSIX file names.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def json_text(data: object) -> str:
    """``data`` as indented JSON, non-ASCII kept, and still valid UTF-8 for any file name:
    lone surrogates become ``\\udcff`` escapes, which decode back to the same string."""
    import json

    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold written as ``\\x1b``; a byte
    that was not UTF-8 in a file name shows as that byte (``\\xff``)."""
    return _NOT_XML_CHAR.sub(_xml_escape, text) if _NOT_XML_CHAR.search(text) else text


def _xml_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for one undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def rules_by_code(run: Run) -> dict:
    return {r.code: r for r in run.rules}
