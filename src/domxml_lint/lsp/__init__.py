"""The language server (``domxml-lint server``), for editors.

This package's own modules import pygls only in :mod:`.server`, and the command
line imports this package only for ``domxml-lint server``: plain runs never pay
for it. Without pygls, the command says how to install it and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import UsageError

#: Python packages the server needs (the ``lsp`` extra).
REQUIRES = ("pygls", "lsprotocol")
LOG_LEVELS = ("error", "warning", "info", "debug")


def build_parser() -> argparse.ArgumentParser:
    from ..cli import _Parser

    parser = _Parser(
        prog="domxml-lint server",
        description="Run the language server: the Language Server Protocol over stdin and "
        "stdout, for editors. Diagnostics as you type, quick fixes, fix all, suppression "
        "comments, rule documentation on hover. Settings come from the editor "
        "(initializationOptions or workspace configuration: select, extendSelect, ignore, "
        "host, failOn, unsafeFixes, configuration, configurationPreference) and from config "
        "files, as for the check command. Needs the lsp extra (pygls).",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="talk over stdin and stdout (the only transport; accepted because editors pass it)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="warning",
        help="what the server logs on stderr, which editors keep in their LSP log "
        "(default: warning)",
    )
    parser.add_argument("--log-file", metavar="FILE", help="also write the log to FILE")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in REQUIRES:
            raise
        raise UsageError(
            f"`domxml-lint server` needs pygls 2 (the lsp extra), and {exc.name} is not "
            "installed: run `pip install 'pygls>=2,<3'` in this environment, or reinstall "
            "domxml-lint with the extra (`pip install '.[lsp]'` in its clone)"
        ) from None
    return serve(log_level=args.log_level, log_file=args.log_file)
