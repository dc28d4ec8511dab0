"""What the language server knows between requests: settings, configs, the run plan.

A :class:`Session` checks editor buffers as the command line checks files:
the same config discovery (:class:`ConfigResolver`, :func:`settings_for`,
per-file ignores, ``force-exclude``), the same :class:`RunPlan` (linters and
host snapshots per settings) and the same :meth:`Linter.check`. The editor's
settings play the part of command-line options (see :class:`EditorSettings`).

The plan and the config resolver are rebuilt from nothing whenever the editor
settings change or a file they were built from changes: every check first
compares the modification stamps of the config files it could have read
(present or not), the files they extend, and the host snapshots in use.

Plain Python (no pygls): the server module turns what this returns into LSP.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..config import (
    CONFIG_NAMES,
    ConfigResolver,
    FileSettings,
    Overrides,
    settings_for,
)
from ..discovery import Discovery, DiscoveryOverrides
from ..document import Document, _supported_codec, sniff_root_name
from ..errors import InputError, InternalError, UsageError
from ..findings import Finding, Severity
from ..linter import Linter
from ..plan import RunPlan
from ..ruleset import RuleSet, suggest

#: How the editor's settings and config files combine (ruff's ``configurationPreference``).
EDITOR_FIRST, FILESYSTEM_FIRST, EDITOR_ONLY = "editorFirst", "filesystemFirst", "editorOnly"
PREFERENCES = (EDITOR_FIRST, FILESYSTEM_FIRST, EDITOR_ONLY)

#: The settings the server reads, as the editor spells them (camelCase; the config file's
#: kebab-case spellings, ``fail-on``, are accepted too).
SETTING_NAMES = (
    "select",
    "extendSelect",
    "ignore",
    "host",
    "failOn",
    "unsafeFixes",
    "configuration",
    "configurationPreference",
)
#: Where a client may nest the settings: ``{"domxml-lint": {...}}`` (VS Code, Neovim,
#: eglot) or ``{"settings": {...}}`` (ruff's initializationOptions).
SECTION_NAMES = ("domxml-lint", "domxmlLint", "domxml_lint")


def _folded(key: str) -> str:
    return key.replace("-", "").replace("_", "").lower()


_BY_FOLDED = {_folded(name): name for name in SETTING_NAMES}


@attrs.frozen
class EditorSettings:
    """Settings from the editor (``initializationOptions``, ``didChangeConfiguration``
    or ``workspace/configuration``).

    With ``configurationPreference = "editorFirst"`` (the default) they act as the
    command-line options of the same names: ``select`` replaces the config file's
    selection, ``extendSelect`` and ``ignore`` adjust it, ``host`` replaces the
    config's ``host``, ``failOn`` and ``unsafeFixes`` replace theirs.
    ``filesystemFirst``: a file with a config file above it gets that config alone;
    the editor settings apply to the others. ``editorOnly``: config files are not
    read (``--no-config``). ``configuration`` names one config file for every
    document (``--config``).
    """

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    host: tuple[str, ...] | None = None
    fail_on: Severity | None = None
    unsafe_fixes: bool | None = None
    configuration: str | None = None
    configuration_preference: str = EDITOR_FIRST

    @property
    def overrides(self) -> Overrides:
        return Overrides(
            select=self.select,
            extend_select=self.extend_select,
            ignore=self.ignore,
            host=self.host,
            fail_on=self.fail_on,
            unsafe_fixes=self.unsafe_fixes,
        )


def settings_section(raw: Any) -> Mapping[str, Any]:
    """The domxml-lint settings inside what a client sent (nested or not)."""
    if not isinstance(raw, Mapping):
        return {}
    for name in SECTION_NAMES:
        if isinstance(raw.get(name), Mapping):
            return raw[name]
    if isinstance(raw.get("settings"), Mapping):
        return settings_section(raw["settings"])
    return raw


def carries_settings(raw: Any) -> bool:
    """Whether a ``didChangeConfiguration`` holds settings (our section, even empty, or
    flat keys) rather than only saying that something changed (null or ``{}``)."""
    if not isinstance(raw, Mapping) or not raw:
        return False
    if any(name in raw for name in SECTION_NAMES):
        return True
    return isinstance(raw.get("settings"), Mapping) or "settings" not in raw


def parse_settings(
    raw: Mapping[str, Any], ruleset: RuleSet, root: str
) -> tuple[EditorSettings, list[str]]:
    """Validated editor settings, and warnings about keys that are not settings.

    Raises UsageError for a bad value, naming the setting and what to write.
    """
    values: dict[str, Any] = {}
    warnings = []
    for key, value in raw.items():
        name = _BY_FOLDED.get(_folded(str(key)))
        if name is None:
            near = suggest(str(key), list(SETTING_NAMES))
            hint = f"; did you mean {near!r}?" if near else ""
            warnings.append(
                f"unknown setting {key!r}{hint} (known: {', '.join(SETTING_NAMES)}); ignored"
            )
            continue
        if value is not None:
            values[name] = value
    settings = EditorSettings(
        select=_selectors(values, "select", ruleset),
        extend_select=_selectors(values, "extendSelect", ruleset) or (),
        ignore=_selectors(values, "ignore", ruleset) or (),
        host=_paths(values, "host", root),
        fail_on=_fail_on(values),
        unsafe_fixes=_boolean(values, "unsafeFixes"),
        configuration=_configuration(values, root),
        configuration_preference=_preference(values),
    )
    return settings, warnings


def _selectors(values: Mapping[str, Any], name: str, ruleset: RuleSet) -> tuple[str, ...] | None:
    if name not in values:
        return None
    value = values[name]
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(
            f'editor setting {name} must be a list of rules, e.g. ["DX4", "disk-cache-unsafe"]'
        )
    selectors = tuple(v.strip() for v in value if v.strip())
    for selector in selectors:
        try:
            ruleset.matches(selector)
        except UsageError as exc:
            raise UsageError(f"editor setting {name}: {exc}") from None
    return selectors


def _paths(values: Mapping[str, Any], name: str, root: str) -> tuple[str, ...] | None:
    if name not in values:
        return None
    value = values[name]
    if isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(
            f'editor setting {name} must be a path or a list of paths, e.g. "hosts/prod.xml"'
        )
    return tuple(_existing_file(item, name, root) for item in value)


def _existing_file(item: str, name: str, root: str) -> str:
    full = os.path.normpath(os.path.join(root, os.path.expanduser(item)))
    if not os.path.isfile(full):
        raise UsageError(
            f"editor setting {name}: {item!r} not found (looked for {full}; relative paths "
            "are relative to the workspace folder)"
        )
    return full


def _fail_on(values: Mapping[str, Any]) -> Severity | None:
    if "failOn" not in values:
        return None
    value = values["failOn"]
    choices = [s.value for s in Severity]
    if value not in choices:
        raise UsageError(
            f"editor setting failOn must be one of {', '.join(choices)}, not {value!r}"
        )
    return Severity(value)


def _boolean(values: Mapping[str, Any], name: str) -> bool | None:
    if name not in values:
        return None
    value = values[name]
    if not isinstance(value, bool):
        raise UsageError(f"editor setting {name} must be true or false, not {value!r}")
    return value


def _configuration(values: Mapping[str, Any], root: str) -> str | None:
    if "configuration" not in values:
        return None
    value = values["configuration"]
    if not isinstance(value, str) or not value:
        raise UsageError(
            "editor setting configuration must be the path of a config file, "
            'e.g. "domxml-lint.toml"'
        )
    return _existing_file(value, "configuration", root)


def _preference(values: Mapping[str, Any]) -> str:
    value = values.get("configurationPreference", EDITOR_FIRST)
    if value not in PREFERENCES:
        raise UsageError(
            f"editor setting configurationPreference must be one of {', '.join(PREFERENCES)}, "
            f"not {value!r}"
        )
    return value


# -- one check ------------------------------------------------------------------------------


@attrs.frozen
class Problem:
    """Why a document got no findings but one diagnostic instead.

    ``kind``: ``document`` (it does not parse, or cannot be read safely), ``settings``
    (a config file or an editor setting is wrong) or ``internal`` (a bug).
    ``line`` and ``column`` are 1-based (characters); None: the top of the document.
    """

    kind: str
    message: str
    line: int | None = None
    column: int | None = None


@attrs.frozen
class Outcome:
    """One check of one version of a document."""

    data: bytes
    encoding: str
    #: Why the document gets no diagnostics at all (not a domain, excluded), if so.
    skipped: str | None = None
    problem: Problem | None = None
    doc: Document | None = attrs.field(default=None, repr=False)
    findings: tuple[Finding, ...] = ()
    settings: FileSettings | None = None
    linter: Linter | None = attrs.field(default=None, repr=False)


_DECLARED_ENCODING = re.compile(
    r"\A\ufeff?<\?xml\s[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z][\w.:-]{0,40})[\"']"
)


def encode_text(text: str) -> tuple[bytes, str]:
    """The editor's text as the bytes the file would hold: in the encoding its XML
    declaration names when that is a single-byte one domxml-lint reads, else UTF-8
    (so a document declaring UTF-16 gets the command line's error for such a file).

    Raises UnicodeEncodeError when the text holds a character the declared encoding lacks.
    """
    declared = _DECLARED_ENCODING.match(text)
    if declared:
        codec = _supported_codec(declared.group(1))
        if codec is not None and codec != "utf-8":
            return text.encode(codec), codec
    return text.encode("utf-8", "surrogatepass"), "utf-8"


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _directories_up(directory: str) -> Iterable[str]:
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


class Session:
    """Checks documents with the current settings; see the module docstring."""

    def __init__(self, ruleset: RuleSet, root: str | None = None) -> None:
        self.ruleset = ruleset
        self.root = os.path.abspath(root or os.getcwd())
        self.editor = EditorSettings()
        #: Why no document can be checked with the editor's settings (None: they are fine).
        self.settings_error: str | None = None
        self._stamps: dict[str, tuple[int, int, int] | None] = {}
        self._reset()

    # -- settings and what is built from them --------------------------------------------

    def configure(self, raw: Any) -> list[str]:
        """Take new editor settings (the whole set); returns warnings to show the user.

        Invalid settings are kept as :attr:`settings_error`: every domain document then
        gets one diagnostic saying what to fix, as the command line would exit 2.
        """
        try:
            settings, warnings = parse_settings(settings_section(raw), self.ruleset, self.root)
        except UsageError as exc:
            self.settings_error = str(exc)
            self._reset()
            return []
        self.editor, self.settings_error = settings, None
        self._reset()
        return warnings

    def _reset(self) -> None:
        """Forget every config, linter and host: the next check builds them again."""
        self._stamps = {}
        self.plan = RunPlan(self.ruleset)
        self._resolver: ConfigResolver | None = None
        self._discovery: Discovery | None = None
        self._resolver_error: str | None = None
        editor = self.editor
        try:
            self._resolver = ConfigResolver(
                self.ruleset,
                config_file=editor.configuration,
                use_files=editor.configuration_preference != EDITOR_ONLY,
                cwd=self.root,
            )
        except UsageError as exc:  # the configuration setting names a bad file
            self._resolver_error = str(exc)
        else:
            self._discovery = Discovery(self._resolver, DiscoveryOverrides(), cwd=self.root)
        self._watch(self._stamped_for(None))

    def refresh(self) -> bool:
        """Rebuild from nothing if a file the configs or hosts came from changed."""
        if any(_stamp(path) != stamp for path, stamp in self._stamps.items()):
            self._reset()
            return True
        return False

    def _watch(self, paths: Iterable[str]) -> None:
        for path in paths:
            if path not in self._stamps:
                self._stamps[path] = _stamp(path)

    def _stamped_for(self, path: str | None, settings: FileSettings | None = None) -> list[str]:
        """Files whose change would change how ``path`` is checked."""
        paths = []
        if self.editor.configuration is not None:
            paths.append(self.editor.configuration)
        elif self.editor.configuration_preference != EDITOR_ONLY:
            directories = [self.root]
            if path is not None:
                directories.insert(0, os.path.dirname(os.path.abspath(path)))
            for top in directories:
                for directory in _directories_up(top):
                    paths += [os.path.join(directory, name) for name in CONFIG_NAMES]
        if self._resolver is not None:
            for config in self._resolver.used():
                paths += config.extended
        if settings is not None:
            paths += settings.host.files
        return paths

    def settings_for(self, path: str | None) -> FileSettings:
        """The settings ``path`` is checked with (None: a buffer with no file yet).

        Raises UsageError for a bad config file or editor setting.
        """
        if self.settings_error is not None:
            raise UsageError(self.settings_error)
        if self._resolver_error is not None or self._resolver is None:
            raise UsageError(self._resolver_error or "no configuration")
        config = self._resolver.for_path(path)
        overrides = self.editor.overrides
        if self.editor.configuration_preference == FILESYSTEM_FIRST and config.path is not None:
            overrides = Overrides()
        return settings_for(config, overrides, path)

    def excluded(self, path: str | None) -> str | None:
        """Why ``path`` is excluded (with ``force-exclude``, as ``--stdin-filename``)."""
        if path is None or self._discovery is None:
            return None
        return self._discovery.stdin_excluded(path)

    # -- checking ----------------------------------------------------------------------

    def check(self, path: str | None, text: str) -> Outcome:
        """Check one buffer; ``path`` is its file (None for an unsaved buffer). Never raises
        for anything the document or the settings hold: that becomes :attr:`Outcome.problem`.
        """
        self.refresh()
        try:
            data, encoding = encode_text(text)
        except UnicodeEncodeError as exc:
            return _unencodable(text, exc)
        root = sniff_root_name(data)
        if root != "domain":
            # Not a domain definition (or nothing recognisable yet): not ours to judge.
            why = f"root element is <{root}>, not <domain>" if root else "no root element yet"
            return Outcome(data, encoding, skipped=why)
        settings: FileSettings | None = None
        try:
            settings = self.settings_for(path)
            self._watch(self._stamped_for(path, settings))
            exclusion = self.excluded(path)
            if exclusion is not None:
                return Outcome(data, encoding, skipped=f"excluded by {exclusion}")
            linter = self.plan.linter(settings)  # loads the host snapshot the first time
        except UsageError as exc:
            return Outcome(data, encoding, problem=Problem("settings", str(exc)))
        shown = path or "<unsaved buffer>"
        try:
            doc = Document.parse(data, shown)
        except InputError as exc:
            return Outcome(data, encoding, problem=_document_problem(exc), settings=settings)
        if doc.root.tag != "domain":  # a namespaced root, say
            return Outcome(data, encoding, skipped=f"root element is <{doc.root.tag}>")
        try:
            checked = linter.check(doc)
        except InternalError as exc:
            return Outcome(
                data, encoding, problem=Problem("internal", exc.message), settings=settings
            )
        except InputError as exc:
            return Outcome(data, encoding, problem=_document_problem(exc), settings=settings)
        return Outcome(
            data,
            encoding,
            doc=doc,
            findings=tuple(checked.findings),
            settings=settings,
            linter=linter,
        )


_LINE_BREAK = re.compile(r"\r\n?|\n")
_NOTHING_CHANGED = re.compile(r";?\s*nothing was (?:read or )?changed$")


def _document_problem(exc: InputError) -> Problem:
    """A parse error as the editor shows it: the message and the hint, no file name."""
    hint = _NOTHING_CHANGED.sub("", exc.hint).strip()
    message = f"{exc.message} ({hint})" if hint else exc.message
    return Problem("document", message, exc.line, exc.column)


def _unencodable(text: str, exc: UnicodeEncodeError) -> Outcome:
    char = text[exc.start]
    lines = _LINE_BREAK.split(text[: exc.start])  # as LSP counts lines
    line, column = len(lines), len(lines[-1]) + 1
    message = (
        f"{char!r} (U+{ord(char):04X}) cannot be written in the encoding {exc.encoding} the "
        "XML declaration names (declare encoding='UTF-8', as libvirt writes it)"
    )
    data = text.encode("utf-8", "surrogatepass")
    return Outcome(data, "utf-8", problem=Problem("document", message, line, column))
