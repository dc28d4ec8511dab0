"""Configuration files and the settings each linted file gets.

Three file names are read, with the same keys:

- ``.domxml-lint.toml`` and ``domxml-lint.toml``: keys at top level;
- ``pyproject.toml``: keys under ``[tool.domxml-lint]`` (a pyproject.toml
  without that table is not a domxml-lint config, and the search goes on).

As in ruff, the nearest config file in a linted file's directory or above it
wins, with no merging between files, unless it says ``extend = "PATH"``: then
it inherits that file's settings and overrides them with its own (see
:func:`load_config`); within one directory the order above is the
precedence. A file with no config above it uses the config found from the
current directory upwards, else the built-in defaults. ``--config FILE`` uses
one file for everything; ``--no-config`` uses none. Command-line options
override the file (a ``--select`` replaces the file's selection, an
``--extend-select`` or ``--ignore`` adjusts it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._records import NamedTuple
from .errors import UsageError
from .findings import Severity
from .ruleset import RuleSet, Selection, suggest
from .versions import Version, Versions, parse_version

CONFIG_NAMES = (".domxml-lint.toml", "domxml-lint.toml", "pyproject.toml")
PYPROJECT_TABLE = "domxml-lint"
KEYS = (
    "extend",
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "host",
    "fail-on",
    "unsafe-fixes",
    "rule-options",
    "exclude",
    "extend-exclude",
    "respect-gitignore",
    "force-exclude",
    "output-format",
    "schema-dir",
    "libvirt-version",
    "qemu-version",
)
#: ``output-format`` values; ``text`` is ``concise``.
OUTPUT_FORMATS = ("text", "concise", "full", "json", "sarif", "github", "gitlab", "junit", "rdjson")
#: The rule that reads ``schema-dir`` (as its option of that name).
SCHEMA_RULE = "schema-invalid"
FAIL_ON_CHOICES = tuple(s.value for s in Severity)
#: Info findings are advice: shown, but they do not fail a run (as yamllint's warnings).
DEFAULT_FAIL_ON = Severity.WARNING


class PerFileIgnore(NamedTuple):
    """Rules ignored for files matching a glob, relative to the config file's directory."""

    pattern: str
    selectors: tuple[str, ...]
    regex: re.Pattern[str]  # the pattern, compiled
    #: The directory the pattern is relative to, when it came from an extended config.
    directory: str | None = None

    def matches(self, relative: str) -> bool:
        """Whether ``relative`` (a /-separated path below the config) or a parent matches."""
        if "/" not in self.pattern.rstrip("/"):
            # As in .gitignore: a bare name matches at any depth.
            parts = relative.split("/")
            return any(self.regex.fullmatch(part) for part in parts)
        parts = relative.split("/")
        return any(self.regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1))


class ExcludePattern(NamedTuple):
    """An ``exclude`` glob: relative to ``directory`` if it holds a ``/``, else a name at
    any depth; a trailing ``/`` matches directories only."""

    pattern: str
    directory: str
    regex: re.Pattern[str]
    anchored: bool
    dirs_only: bool
    #: Where it was written: a config file, ``--exclude``, or ``default``.
    source: str

    def matches(self, path: str, *, is_dir: bool, ancestors: bool = False) -> bool:
        """Whether absolute ``path`` matches; with ``ancestors``, or a directory above it
        (for paths given explicitly, whose parents were never walked)."""
        relative = _relative_to(path, self.directory)
        if relative == ".":  # the pattern's own directory: only its name can match
            relative = None
        if self.anchored:
            if relative is None:
                return False
            parts = relative.split("/")
            lengths = range(1, len(parts) + 1) if ancestors else (len(parts),)
            for n in lengths:
                if self.dirs_only and n == len(parts) and not is_dir:
                    continue
                if self.regex.fullmatch("/".join(parts[:n])):
                    return True
            return False
        parts = relative.split("/") if relative is not None else [os.path.basename(path)]
        if not ancestors:
            parts = parts[-1:]
            if self.dirs_only and not is_dir:
                return False
            return bool(self.regex.fullmatch(parts[0]))
        last = len(parts) - 1
        return any(
            self.regex.fullmatch(part)
            for index, part in enumerate(parts)
            if not (self.dirs_only and index == last and not is_dir)
        )


def exclude_patterns(
    patterns: Sequence[str], directory: str, source: str
) -> tuple[ExcludePattern, ...]:
    """Compile ``exclude`` globs (raises ValueError for a malformed one)."""
    compiled = []
    for pattern in patterns:
        text = pattern.strip()
        dirs_only = text.endswith("/")
        core = text.rstrip("/")
        anchored = "/" in core
        compiled.append(
            ExcludePattern(
                pattern, directory, glob_regex(core or pattern), anchored, dirs_only, source
            )
        )
    return tuple(compiled)


@attrs.frozen
class Config:
    """One configuration file's validated content (``path`` None: built-in defaults).

    With ``extend``, the content is the extended file's overridden by this one's:
    ``extended`` lists the files read, nearest first; ``inherited`` holds their
    rule selections, applied before this file's own.
    """

    path: str | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[PerFileIgnore, ...] = ()
    host: tuple[str, ...] = ()
    fail_on: Severity | None = None
    unsafe_fixes: bool | None = None
    #: The libvirt and QEMU whose behaviour version-dependent checks follow.
    versions: Versions = Versions()
    # Fixed by ``path`` within a run, so left out of equality and hashing.
    rule_options: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict, eq=False, repr=False)
    exclude: tuple[ExcludePattern, ...] | None = attrs.field(default=None, eq=False)
    extend_exclude: tuple[ExcludePattern, ...] = attrs.field(default=(), eq=False)
    respect_gitignore: bool | None = attrs.field(default=None, eq=False)
    force_exclude: bool | None = attrs.field(default=None, eq=False)
    output_format: str | None = attrs.field(default=None, eq=False)
    extended: tuple[str, ...] = ()
    inherited: tuple[Selection, ...] = ()
    #: The keys the file itself sets.
    keys_set: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False)

    @property
    def directory(self) -> str:
        return os.path.dirname(self.path) if self.path else os.getcwd()

    @property
    def selection(self) -> Selection:
        return Selection(self.select, self.ignore, self.extend_select)

    @property
    def selections(self) -> tuple[Selection, ...]:
        """Every rule selection this config makes, extended files' first."""
        return (*self.inherited, self.selection)


class HostSpec(NamedTuple):
    """Where the host of a file comes from: snapshot files, or the run's live connection."""

    files: tuple[str, ...] = ()
    #: The URI of the libvirt connection the run opened (``--connect``), when its host serves.
    connection: str | None = None

    def __bool__(self) -> bool:
        return bool(self.files) or self.connection is not None


class Overrides(NamedTuple):
    """What the command line says; None (or empty) where it says nothing."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    host: tuple[str, ...] | None = None
    #: ``--connect URI`` without ``--host``: the connection's host replaces the config's.
    connection: str | None = None
    fail_on: Severity | None = None
    unsafe_fixes: bool | None = None

    @property
    def selection(self) -> Selection:
        return Selection(self.select, self.ignore, self.extend_select)


@attrs.frozen(cache_hash=True)
class FileSettings:
    """Everything that decides how one file is linted; equal settings share a Linter."""

    config_path: str | None
    selection: tuple[Selection, ...]
    per_file_ignore: tuple[str, ...]
    host: HostSpec
    unsafe_fixes: bool
    fail_on: Severity
    versions: Versions = Versions()
    rule_options: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict, eq=False, repr=False)


def settings_for(config: Config, overrides: Overrides, path: str | None) -> FileSettings:
    """The effective settings for ``path`` (None: stdin without --stdin-filename)."""
    ignored: list[str] = []
    if path is not None and config.per_file_ignores:
        full = os.path.abspath(path)
        for entry in config.per_file_ignores:
            relative = _relative_to(full, entry.directory or config.directory)
            if relative is not None and entry.matches(relative):
                ignored.extend(s for s in entry.selectors if s not in ignored)
    return FileSettings(
        config_path=config.path,
        selection=(*config.selections, overrides.selection),
        per_file_ignore=tuple(ignored),
        host=_host_spec(config, overrides),
        unsafe_fixes=bool(
            config.unsafe_fixes if overrides.unsafe_fixes is None else overrides.unsafe_fixes
        ),
        fail_on=overrides.fail_on or config.fail_on or DEFAULT_FAIL_ON,
        versions=config.versions,
        rule_options=config.rule_options,
    )


def _host_spec(config: Config, overrides: Overrides) -> HostSpec:
    """``--host`` wins, then the live connection, then the config's ``host``."""
    if overrides.host is not None:
        return HostSpec(files=overrides.host)
    if overrides.connection is not None:
        return HostSpec(connection=overrides.connection)
    return HostSpec(files=config.host)


def _relative_to(path: str, directory: str) -> str | None:
    relative = os.path.relpath(path, directory)
    if relative.startswith(".." + os.sep) or relative == "..":
        return None
    return relative.replace(os.sep, "/")


class ConfigResolver:
    """Finds (and caches) the config that applies to each linted file."""

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        config_file: str | None = None,
        use_files: bool = True,
        cwd: str | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._in_directory: dict[str, Config | None] = {}
        self._nearest: dict[str, Config | None] = {}
        self._fixed: Config | None = None
        if config_file is not None:
            self._fixed = load_config(os.path.abspath(config_file), ruleset, explicit=True)
        elif not use_files:
            self._fixed = Config()
        self._fallback: Config | None = None

    @property
    def fallback(self) -> Config:
        """The config for files with none above them: the current directory's, or defaults."""
        if self._fallback is None:
            self._fallback = self._nearest_above(self.cwd) or Config()
        return self._fallback

    def for_path(self, path: str | None) -> Config:
        """The config for a file (None: stdin with no --stdin-filename: the fallback)."""
        if self._fixed is not None:
            return self._fixed
        if path is None:
            return self.fallback
        directory = os.path.dirname(os.path.abspath(path))
        return self._nearest_above(directory) or self.fallback

    def used(self) -> list[Config]:
        """Config files read so far (for --verbose)."""
        if self._fixed is not None:
            return [self._fixed] if self._fixed.path else []
        return [c for c in self._in_directory.values() if c is not None]

    def _nearest_above(self, directory: str) -> Config | None:
        visited = []
        found: Config | None = None
        current = directory
        while True:
            if current in self._nearest:
                found = self._nearest[current]
                break
            visited.append(current)
            found = self._in(current)
            if found is not None:
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for item in visited:
            self._nearest[item] = found
        return found

    def _in(self, directory: str) -> Config | None:
        if directory not in self._in_directory:
            self._in_directory[directory] = None
            for name in CONFIG_NAMES:
                candidate = os.path.join(directory, name)
                if os.path.isfile(candidate):
                    config = load_config(candidate, self.ruleset, explicit=False)
                    if config is not None:
                        self._in_directory[directory] = config
                        break
        return self._in_directory[directory]


def load_config(
    path: str, ruleset: RuleSet, *, explicit: bool, chain: tuple[str, ...] = ()
) -> Config | None:
    """Read and validate one config file.

    Returns None for a pyproject.toml without ``[tool.domxml-lint]`` that was
    found by the search (it configures other tools); given with ``--config``,
    that is an error.

    ``extend = "PATH"`` (relative to this file) reads that file first, as ruff
    does: every key this file sets overrides the extended file's; rule
    selections stack (the extended file's, then this one's, so ``extend-select``
    adds and ``select`` replaces); ``extend-exclude`` adds to the extended
    file's; ``rule-options`` merge per rule. Paths stay relative to the file
    that wrote them. A file that extends itself, directly or not, is an error.
    """
    import tomllib  # only runs that find a config file pay for it

    shown = display_path(path)
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"{shown}: config file not found; check the --config path") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read the config file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown}: invalid TOML: {exc}; fix the syntax") from None
    if os.path.basename(path) == "pyproject.toml":
        tool = document.get("tool", {})
        table = tool.get(PYPROJECT_TABLE) if isinstance(tool, dict) else None
        if table is None:
            near = _close(
                [k for k in tool if isinstance(k, str)] if isinstance(tool, dict) else [],
                PYPROJECT_TABLE,
                cutoff=0.8,
            )
            if near:
                raise UsageError(
                    f"{shown}: found [tool.{near}]; did you mean [tool.{PYPROJECT_TABLE}]?"
                )
            if explicit:
                raise UsageError(
                    f"{shown}: has no [tool.{PYPROJECT_TABLE}] table; add one or pass a "
                    "domxml-lint.toml"
                )
            return None
        where = f"{shown}: [tool.{PYPROJECT_TABLE}]"
    else:
        table = document
        where = shown
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table of settings")
    config = _parse(table, path, where, ruleset)
    if "extend" not in table:
        return config
    return _extend(config, table["extend"], where, ruleset, (*chain, os.path.realpath(path)))


def _extend(
    config: Config, target: Any, where: str, ruleset: RuleSet, chain: tuple[str, ...]
) -> Config:
    if not isinstance(target, str) or not target.strip():
        raise UsageError(f'{where}: extend must be a path, e.g. extend = "../domxml-lint.toml"')
    assert config.path is not None
    full = os.path.normpath(os.path.join(config.directory, os.path.expanduser(target)))
    if os.path.realpath(full) in chain:
        cycle = " -> ".join(display_path(p) for p in (*chain, full))
        raise UsageError(f"{where}: extend makes a cycle ({cycle}); remove one of the extends")
    if not os.path.isfile(full):
        raise UsageError(
            f"{where}: extend: {target!r} not found (looked for {display_path(full)}; paths "
            "are relative to the config file)"
        )
    base = load_config(full, ruleset, explicit=True, chain=chain)
    assert base is not None  # explicit: a pyproject.toml without the table is an error
    options: dict[str, dict[str, Any]] = {k: dict(v) for k, v in base.rule_options.items()}
    for rule, values in config.rule_options.items():
        options.setdefault(rule, {}).update(values)
    own = config.per_file_ignores
    return attrs.evolve(
        config,
        # A key this file does not set comes from the extended file.
        host=config.host if "host" in config.keys_set else base.host,
        fail_on=config.fail_on if config.fail_on is not None else base.fail_on,
        unsafe_fixes=base.unsafe_fixes if config.unsafe_fixes is None else config.unsafe_fixes,
        per_file_ignores=own if "per-file-ignores" in config.keys_set else _anchored(base),
        exclude=config.exclude if config.exclude is not None else base.exclude,
        extend_exclude=(*base.extend_exclude, *config.extend_exclude),
        respect_gitignore=_first(config.respect_gitignore, base.respect_gitignore),
        force_exclude=_first(config.force_exclude, base.force_exclude),
        output_format=config.output_format or base.output_format,
        versions=Versions(
            config.versions.libvirt or base.versions.libvirt,
            config.versions.qemu or base.versions.qemu,
        ),
        rule_options=options,
        extended=(full, *base.extended),
        inherited=base.selections,
    )


def _first(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _anchored(config: Config) -> tuple[PerFileIgnore, ...]:
    """The config's per-file-ignores, still relative to its own directory."""
    return tuple(
        entry._replace(directory=entry.directory or config.directory)
        for entry in config.per_file_ignores
    )


def _parse(table: dict, path: str, where: str, ruleset: RuleSet) -> Config:
    for key in table:
        if key not in KEYS:
            hint = _did_you_mean(key, KEYS)
            if key == "tool" and not path.endswith("pyproject.toml"):
                hint = (
                    f"; in {os.path.basename(path)} write the keys at top level, "
                    f"without [tool.{PYPROJECT_TABLE}]"
                )
            raise UsageError(f"{where}: unknown key {key!r}{hint} (known keys: {', '.join(KEYS)})")
    directory = os.path.dirname(path)
    select = _selectors(table, "select", where, ruleset)
    return Config(
        path=path,
        select=select,
        extend_select=_selectors(table, "extend-select", where, ruleset) or (),
        ignore=_selectors(table, "ignore", where, ruleset) or (),
        per_file_ignores=_per_file_ignores(table, where, ruleset),
        host=_host_paths(table, where, directory),
        fail_on=_fail_on(table, where),
        unsafe_fixes=_boolean(table, "unsafe-fixes", where),
        versions=Versions(
            _version(table, "libvirt-version", where), _version(table, "qemu-version", where)
        ),
        rule_options=_with_schema_dir(
            _rule_options(table, where, ruleset), table, where, directory
        ),
        exclude=_excludes(table, "exclude", where, path),
        extend_exclude=_excludes(table, "extend-exclude", where, path) or (),
        respect_gitignore=_boolean(table, "respect-gitignore", where),
        force_exclude=_boolean(table, "force-exclude", where),
        output_format=_output_format(table, where),
        keys_set=frozenset(table),
    )


def _version(table: Mapping[str, Any], key: str, where: str) -> Version | None:
    if key not in table:
        return None
    value = table[key]
    version = parse_version(value) if isinstance(value, str) else None
    if version is None:
        raise UsageError(f'{where}: {key} must be a version string, e.g. {key} = "10.7.0"')
    return version


def _excludes(
    table: Mapping[str, Any], key: str, where: str, path: str
) -> tuple[ExcludePattern, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f'{where}: {key} must be a list of globs, e.g. {key} = ["legacy/"]')
    try:
        return exclude_patterns(value, os.path.dirname(path), display_path(path))
    except ValueError as exc:
        raise UsageError(f"{where}: {key}: {exc}") from None


def _output_format(table: Mapping[str, Any], where: str) -> str | None:
    if "output-format" not in table:
        return None
    value = table["output-format"]
    if value not in OUTPUT_FORMATS:
        hint = _did_you_mean(str(value), OUTPUT_FORMATS)
        raise UsageError(
            f"{where}: output-format must be one of {', '.join(OUTPUT_FORMATS)}, "
            f"not {value!r}{hint}"
        )
    return value


def _selectors(
    table: Mapping[str, Any], key: str, where: str, ruleset: RuleSet
) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f'{where}: {key} must be a list of strings, e.g. {key} = ["DX4"]')
    for selector in value:
        _check_selector(selector, f"{where}: {key}", ruleset)
    return tuple(value)


def _check_selector(selector: str, where: str, ruleset: RuleSet) -> None:
    try:
        ruleset.matches(selector)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _per_file_ignores(
    table: Mapping[str, Any], where: str, ruleset: RuleSet
) -> tuple[PerFileIgnore, ...]:
    value = table.get("per-file-ignores", {})
    example = 'e.g. "legacy/*.xml" = ["DX4"]'
    if not isinstance(value, dict):
        raise UsageError(f"{where}: per-file-ignores must be a table of glob = [rules], {example}")
    entries = []
    for pattern, selectors in value.items():
        if not isinstance(selectors, list) or not all(isinstance(s, str) for s in selectors):
            raise UsageError(
                f"{where}: per-file-ignores {pattern!r} must be a list of rules, {example}"
            )
        for selector in selectors:
            _check_selector(selector, f"{where}: per-file-ignores {pattern!r}", ruleset)
        try:
            regex = glob_regex(pattern)
        except ValueError as exc:
            raise UsageError(f"{where}: per-file-ignores: {exc}") from None
        entries.append(PerFileIgnore(pattern, tuple(selectors), regex))
    return tuple(entries)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over /-separated paths: ``*``, ``?``, ``[...]`` and ``**``."""
    text = pattern.strip().lstrip("/").rstrip("/")
    if text.startswith("./"):
        text = text[2:]
    if not text:
        raise ValueError(f"empty pattern {pattern!r}")
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = text.find("]", i + 2 if text[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                raise ValueError(f"unclosed '[' in pattern {pattern!r}")
            body = text[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out))


def _host_paths(table: Mapping[str, Any], where: str, directory: str) -> tuple[str, ...]:
    if "host" not in table:
        return ()
    value = table["host"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(
            f'{where}: host must be a path or a list of paths, e.g. host = ["hosts/prod.xml"]'
        )
    paths = []
    for item in value:
        full = os.path.normpath(os.path.join(directory, os.path.expanduser(item)))
        if not os.path.isfile(full):
            raise UsageError(
                f"{where}: host file {item!r} not found (looked for {display_path(full)}; "
                "paths are relative to the config file)"
            )
        paths.append(full)
    return tuple(paths)


def _fail_on(table: Mapping[str, Any], where: str) -> Severity | None:
    if "fail-on" not in table:
        return None
    value = table["fail-on"]
    if value not in FAIL_ON_CHOICES:
        hint = _did_you_mean(str(value), FAIL_ON_CHOICES)
        raise UsageError(
            f"{where}: fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {value!r}{hint}"
        )
    return Severity(value)


def _boolean(table: Mapping[str, Any], key: str, where: str) -> bool | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _rule_options(
    table: Mapping[str, Any], where: str, ruleset: RuleSet
) -> dict[str, dict[str, Any]]:
    value = table.get("rule-options", {})
    if not isinstance(value, dict):
        raise UsageError(
            f"{where}: rule-options must be a table of tables, e.g. [rule-options.RULE-NAME]"
        )
    options: dict[str, dict[str, Any]] = {}
    for key, settings in value.items():
        rule = ruleset.get(key)
        if rule is None:
            names = [r.name for r in ruleset]
            raise UsageError(
                f"{where}: rule-options: unknown rule {key!r}{_did_you_mean(key, names)}"
            )
        place = f"{where}: rule-options.{key}"
        if not isinstance(settings, dict):
            raise UsageError(f"{place} must be a table of option = value")
        if not rule.options:
            raise UsageError(f"{place}: {rule.code} ({rule.name}) has no options")
        for option, setting in settings.items():
            if option not in rule.options:
                known = ", ".join(sorted(rule.options))
                raise UsageError(
                    f"{place}: unknown option {option!r}{_did_you_mean(option, rule.options)} "
                    f"({rule.name} has: {known})"
                )
            default = rule.options[option]
            if not _same_kind(setting, default):
                raise UsageError(
                    f"{place}: {option} must be {_kind(default)} like the default "
                    f"{default!r}, not {setting!r}"
                )
        options.setdefault(rule.name, {}).update(settings)
    return options


def _with_schema_dir(
    options: dict[str, dict[str, Any]], table: Mapping[str, Any], where: str, directory: str
) -> dict[str, dict[str, Any]]:
    """``schema-dir`` (top level, or schema-invalid's option) as an absolute, checked path."""
    nested = options.get(SCHEMA_RULE, {})
    if "schema-dir" in nested:
        nested["schema-dir"] = _schema_dir(
            nested["schema-dir"], f"{where}: rule-options.{SCHEMA_RULE}.schema-dir", directory
        )
    if "schema-dir" in table:
        options.setdefault(SCHEMA_RULE, {})["schema-dir"] = _schema_dir(
            table["schema-dir"], f"{where}: schema-dir", directory
        )
    return options


def _schema_dir(value: Any, where: str, directory: str) -> str:
    from .schema import SCHEMA_FILE  # only configs that set it pay for the import

    if not isinstance(value, str) or not value:
        raise UsageError(
            f'{where} must be a directory path, e.g. schema-dir = "/usr/share/libvirt/schemas"'
        )
    full = os.path.normpath(os.path.join(directory, os.path.expanduser(value)))
    if not os.path.isfile(os.path.join(full, SCHEMA_FILE)):
        raise UsageError(
            f"{where}: {value!r} has no {SCHEMA_FILE} (looked for "
            f"{display_path(os.path.join(full, SCHEMA_FILE))}; paths are relative to the "
            "config file)"
        )
    return full


def _same_kind(value: Any, default: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list)
    return isinstance(value, type(default))


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, list | tuple):
        return "a list"
    return f"a {type(default).__name__}"


def _close(candidates: Sequence[str], word: str, *, cutoff: float = 0.6) -> str | None:
    return suggest(word, list(candidates), cutoff=cutoff)


def _did_you_mean(word: str, candidates) -> str:
    near = _close(list(candidates), word)
    return f"; did you mean {near!r}?" if near else ""


def display_path(path: str) -> str:
    """``path`` relative to the current directory when below it, else as is."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
