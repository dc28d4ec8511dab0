"""``--show-files`` and ``--show-settings``: what a run would check, and how, without linting.

``--show-files`` lists the files a run would read, after excludes and
``.gitignore``, one per line. ``--show-settings`` prints the settings of the
first of them (or of the ``--stdin-filename``): the config files read, the rule
selection layer by layer and the rules it gives, host, fail-on, fixes,
exclusions and the output format; ``--output-format json`` prints them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .config import DEFAULT_FAIL_ON, ConfigResolver, Overrides, display_path, settings_for
from .discovery import Discovery
from .errors import UsageError
from .plugins import load_ruleset
from .report import FileResult, printable
from .ruleset import Selection


def show_files(args: argparse.Namespace, finder: Discovery) -> int:
    failed = False
    for entry in finder.files(args.paths, warn=not args.quiet):
        if isinstance(entry, FileResult):
            failed = True
            print(f"domxml-lint: error: {entry.error}", file=sys.stderr)
        else:
            print(printable(entry))
    return 2 if failed else 0


def show_settings(
    args: argparse.Namespace, finder: Discovery, resolver: ConfigResolver, overrides: Overrides
) -> int:
    target = _target(args, finder)
    settings = resolver.for_path(target)
    full = settings_for(settings, overrides, target)
    ruleset = load_ruleset()
    rules = ruleset.select_layers(full.selection)
    if full.per_file_ignore:
        ignored = {r.code for s in full.per_file_ignore for r in ruleset.matches(s)}
        rules = [r for r in rules if r.code not in ignored]
    exclude = finder.patterns(settings)
    record: dict[str, Any] = {
        "file": target,
        "config": settings.path,
        "extends": list(settings.extended),
        "selection": [
            _layer(selection, source)
            for selection, source in zip(
                full.selection, (*_sources(settings), "command line"), strict=False
            )
        ],
        "rules": [f"{r.code} {r.name}" for r in rules],
        "per-file-ignores": list(full.per_file_ignore),
        "host": list(full.host.files),
        "fail-on": full.fail_on.value,
        "fail-on-default": DEFAULT_FAIL_ON.value,
        "unsafe-fixes": full.unsafe_fixes,
        "exclude": [f"{p.pattern} ({p.source})" for p in exclude],
        "respect-gitignore": finder.respect_gitignore(settings),
        "force-exclude": finder.force_exclude(settings),
        "output-format": args.output_format,
        "rule-options": {name: dict(values) for name, values in full.rule_options.items()},
    }
    if args.output_format == "json":
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return 0
    print(f"Settings for {printable(target or '-')}")
    for key, value in record.items():
        if key in ("file", "fail-on-default"):
            continue
        if key == "selection":
            value = " | ".join(_layer_text(layer) for layer in value)
        elif key == "rules":
            value = f"{len(value)}: {', '.join(value)}"
        print(f"  {key}: {_text(value)}")
    return 0


def _layer_text(layer: dict[str, Any]) -> str:
    """``domxml-lint.toml: select=DX4, ignore=DX401``; a layer that selects nothing is its name."""
    parts = [f"{key}={','.join(values)}" for key, values in layer.items() if key != "from"]
    return layer["from"] + (": " + ", ".join(parts) if parts else "")


def _target(args: argparse.Namespace, finder: Discovery) -> str | None:
    if args.paths in ([], ["-"]):
        return args.stdin_filename
    for path in args.paths:
        if not os.path.isdir(path):
            return path  # a file need not exist to have settings
        for entry in finder.files([path], warn=False):
            if isinstance(entry, str):
                return entry
    raise UsageError(
        f"--show-settings: no file to check in {', '.join(args.paths)}; name a domain XML file"
    )


def _sources(config) -> list[str]:
    if config.path is None:
        return ["defaults"]
    return [*(display_path(p) for p in reversed(config.extended)), display_path(config.path)]


def _layer(selection: Selection, source: str) -> dict[str, Any]:
    layer: dict[str, Any] = {"from": source}
    if selection.select is not None:
        layer["select"] = list(selection.select)
    if selection.extend_select:
        layer["extend-select"] = list(selection.extend_select)
    if selection.ignore:
        layer["ignore"] = list(selection.ignore)
    return layer


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if not value:
            return "(none)"
        if all(isinstance(v, str) for v in value):
            return printable(", ".join(value))
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        if not value:
            return "(none)"
        return printable(", ".join(f"{k}={_text(v)}" for k, v in value.items()))
    return printable(str(value))
