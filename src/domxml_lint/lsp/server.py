"""``domxml-lint server``: the Language Server Protocol over stdio, on pygls.

Diagnostics on open, change (debounced) and save; quick fixes, "fix all"
(``source.fixAll.domxml-lint``) and "suppress DXnnn here" as code actions; the
rule's documentation on hover. What a document gets is decided by
:class:`~.session.Session`, exactly as the command line decides it; this module
only speaks the protocol: positions, diagnostics, edits, settings traffic.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..errors import InputError
from ..findings import Finding, Severity
from ..fixer import FixResult, fix_document
from ..plugins import load_ruleset
from ..report import documentation_url
from ..rule import Stage
from . import positions
from .positions import LineIndex
from .session import Outcome, Problem, Session, carries_settings, settings_section
from .textedits import ByteEdit, Suppressor, edits_between, fix_edits

log = logging.getLogger("domxml_lint.lsp")

NAME = "domxml-lint"
#: The code action kind of "fix all" (``editor.codeActionsOnSave`` in VS Code names it).
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{NAME}"
SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}
UNITS: dict[str, str] = {
    types.PositionEncodingKind.Utf8.value: positions.UTF8,
    types.PositionEncodingKind.Utf16.value: positions.UTF16,
    types.PositionEncodingKind.Utf32.value: positions.UTF32,
}
#: A change is checked once the document has been quiet this long (seconds). Checks run on
#: the event loop, so the changes that arrive while one runs are taken together after it;
#: waiting as long as a check takes doubled the time to diagnostics on a large guest.
DEBOUNCE = 0.01


@attrs.define
class Linted:
    """One version of one document, checked: what was published, and what actions read."""

    version: int | None
    outcome: Outcome
    index: LineIndex
    #: Byte spans of the findings (start, end), parallel to ``outcome.findings``.
    spans: list[tuple[int, int]]
    diagnostics: list[types.Diagnostic]
    #: The fix loop's edits for "fix all", computed on first request.
    fix_all: list[ByteEdit] | None = None


class DomxmlLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(NAME, __version__)
        self.session: Session | None = None
        self.linted: dict[str, Linted] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._initial_settings: Mapping[str, Any] = {}
        self._applied: dict[str, Any] | None = None
        self._told: set[str] = set()
        #: Whether the client asked for a shutdown before exit (the exit status says so).
        self.shut_down = False

    # -- settings -------------------------------------------------------------------------

    def start_session(self, params: types.InitializeParams) -> None:
        root = None
        if params.workspace_folders:
            root = to_fs_path(params.workspace_folders[0].uri)
        elif params.root_uri:
            root = to_fs_path(params.root_uri)
        elif params.root_path:
            root = params.root_path
        self.session = Session(load_ruleset(), root)
        self._initial_settings = dict(settings_section(params.initialization_options))
        self.apply_settings({})

    def apply_settings(self, latest: Mapping[str, Any]) -> bool:
        """Use the initialization options, overridden key by key by the latest settings;
        False if that is what is in use already."""
        assert self.session is not None
        merged = {**self._initial_settings, **latest}
        if merged == self._applied:
            return False
        self._applied = merged
        warnings = self.session.configure(merged)
        for warning in warnings:
            self.tell(types.MessageType.Warning, f"{NAME}: {warning}")
        if self.session.settings_error is not None:
            self.tell(types.MessageType.Error, f"{NAME}: {self.session.settings_error}")
        return True

    def tell(self, kind: types.MessageType, message: str) -> None:
        """Show a message once per session (settings problems repeat on every change)."""
        if message in self._told:
            return
        self._told.add(message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    async def pull_settings(self) -> None:
        """Ask the client for the ``domxml-lint`` section, where it supports that."""
        if not _capability(self.client_capabilities, "workspace", "configuration"):
            return
        try:
            pulled = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=NAME)])
            )
        except Exception as exc:  # a client that fails the request: keep what we have
            log.warning("workspace/configuration failed: %s", exc)
            return
        value = pulled[0] if pulled else None  # None: the editor has no such section
        if self.apply_settings(settings_section(value)):
            self.check_all()

    # -- checking ---------------------------------------------------------------------------

    def check(self, uri: str) -> Linted | None:
        """Check the open document now and publish its diagnostics."""
        self._cancel(uri)
        document = self.workspace.text_documents.get(uri)
        if document is None or self.session is None:
            return None
        started = time.perf_counter()
        text = document.source
        try:
            outcome = self.session.check(to_fs_path(uri), text)
        except Exception as exc:  # a bug: say so on the document, keep serving
            log.exception("checking %s failed", uri)
            problem = Problem("internal", f"{type(exc).__name__}: {exc}")
            outcome = Outcome(text.encode("utf-8", "surrogatepass"), "utf-8", problem=problem)
        linted = self._linted(document.version, outcome)
        log.debug("checked %s in %.1f ms", uri, (time.perf_counter() - started) * 1000)
        self.linted[uri] = linted
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=linted.diagnostics, version=document.version
            )
        )
        return linted

    def check_later(self, uri: str) -> None:
        """Check after a pause; a change before then restarts the wait."""
        self._cancel(uri)
        loop = asyncio.get_running_loop()
        self._timers[uri] = loop.call_later(DEBOUNCE, self.check, uri)

    def check_all(self) -> None:
        for uri in list(self.workspace.text_documents):
            self.check(uri)

    def current(self, uri: str) -> Linted | None:
        """The check of the document as it is now (checked again if it changed since)."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return None
        linted = self.linted.get(uri)
        if linted is None or linted.version != document.version or uri in self._timers:
            linted = self.check(uri)
        return linted

    def forget(self, uri: str) -> None:
        self._cancel(uri)
        self.linted.pop(uri, None)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def _cancel(self, uri: str) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()

    def _linted(self, version: int | None, outcome: Outcome) -> Linted:
        encoding = self.workspace.position_encoding
        unit = UNITS.get(getattr(encoding, "value", encoding) or "", positions.UTF16)
        index = LineIndex(outcome.data, outcome.encoding, unit)
        spans: list[tuple[int, int]] = []
        diagnostics: list[types.Diagnostic] = []
        if outcome.problem is not None:
            diagnostics.append(_problem_diagnostic(outcome, index))
        fail_on = outcome.settings.fail_on if outcome.settings else Severity.WARNING
        ruleset = self.session.ruleset if self.session else None
        for finding in outcome.findings:
            end = index.finding_offset(finding.end_line, finding.end_column)
            span = (finding.offset, max(finding.offset, end))
            spans.append(span)
            rule = ruleset.get(finding.code) if ruleset else None
            url = documentation_url(rule) if rule is not None else None
            diagnostics.append(
                types.Diagnostic(
                    range=_range(index, *span),
                    message=finding.message,
                    severity=SEVERITY[finding.severity]
                    if finding.severity.rank >= fail_on.rank
                    else types.DiagnosticSeverity.Information,
                    code=finding.code,
                    code_description=types.CodeDescription(href=url) if url else None,
                    source=NAME,
                    data={
                        "name": finding.name,
                        "severity": finding.severity.value,
                        "fix": finding.fix.applicability.value if finding.fix else None,
                    },
                )
            )
        return Linted(version, outcome, index, spans, diagnostics)

    # -- code actions -----------------------------------------------------------------------

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        linted = self.current(uri)
        if linted is None or linted.outcome.doc is None:
            return None
        only = params.context.only

        def wanted(kind: str) -> bool:
            return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)

        # "Fix all" runs the fix loop: only when asked for by kind or by the user, not for
        # the light bulb an editor requests at every cursor move.
        fix_all_asked = only is not None or (
            params.context.trigger_kind != types.CodeActionTriggerKind.Automatic
        )

        index = linted.index
        start = index.offset(params.range.start.line, params.range.start.character)
        end = index.offset(params.range.end.line, params.range.end.character)
        actions: list[types.CodeAction] = []
        findings = linted.outcome.findings
        touched = [
            (finding, diagnostic)
            for finding, span, diagnostic in zip(
                findings, linted.spans, _finding_diagnostics(linted), strict=True
            )
            if span[0] <= end and start <= span[1]
        ]
        if wanted(types.CodeActionKind.QuickFix):
            for finding, diagnostic in touched:
                if finding.fix is not None and finding.fix.edits:
                    unsafe = "" if finding.fix.is_safe else " (unsafe fix)"
                    actions.append(
                        types.CodeAction(
                            title=f"{finding.code}: {finding.fix.title}{unsafe}",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diagnostic],
                            edit=self._workspace_edit(uri, linted, fix_edits(finding)),
                            is_preferred=finding.fix.is_safe,
                        )
                    )
            suppressor = Suppressor(linted.outcome.doc)
            for finding, diagnostic in touched:
                rule = self.session.ruleset.get(finding.code) if self.session else None
                if rule is None or rule.stage is not Stage.DOCUMENT:
                    continue  # findings about suppressions themselves cannot be suppressed
                edit = suppressor.edit(finding)
                if edit is None:
                    continue
                actions.append(
                    types.CodeAction(
                        title=f"Suppress {finding.code} here ({finding.name})",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=self._workspace_edit(uri, linted, [edit]),
                    )
                )
        if fix_all_asked and wanted(FIX_ALL_KIND) and self._fixable(linted):
            edits = self._fix_all(linted)
            if edits:
                settings = linted.outcome.settings
                what = "fixes (unsafe ones too: unsafe-fixes is on)"
                if settings is None or not settings.unsafe_fixes:
                    what = "safe fixes"
                actions.append(
                    types.CodeAction(
                        title=f"{NAME}: apply all {what}",
                        kind=FIX_ALL_KIND,
                        edit=self._workspace_edit(uri, linted, edits),
                    )
                )
        return actions

    def _fixable(self, linted: Linted) -> bool:
        settings = linted.outcome.settings
        unsafe = bool(settings and settings.unsafe_fixes)
        return any(
            f.fix is not None and f.fix.edits and (unsafe or f.fix.is_safe)
            for f in linted.outcome.findings
        )

    def _fix_all(self, linted: Linted) -> list[ByteEdit]:
        if linted.fix_all is None:
            outcome = linted.outcome
            assert outcome.doc is not None and outcome.linter is not None
            unsafe = bool(outcome.settings and outcome.settings.unsafe_fixes)
            try:
                result: FixResult = fix_document(outcome.doc, outcome.linter, unsafe=unsafe)
            except InputError as exc:  # a fix produced XML that does not parse: a bug
                self.tell(types.MessageType.Error, f"{NAME}: {exc}")
                linted.fix_all = []
            else:
                linted.fix_all = edits_between(result) if result.changed else []
        return linted.fix_all

    def _workspace_edit(
        self, uri: str, linted: Linted, edits: Sequence[ByteEdit]
    ) -> types.WorkspaceEdit:
        text_edits = [
            types.TextEdit(range=_range(linted.index, start, end), new_text=text)
            for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]))
        ]
        if _capability(self.client_capabilities, "workspace", "workspace_edit", "document_changes"):
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=uri, version=linted.version
                        ),
                        edits=list(text_edits),
                    )
                ]
            )
        return types.WorkspaceEdit(changes={uri: text_edits})

    # -- hover ------------------------------------------------------------------------------

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        linted = self.current(params.text_document.uri)
        if linted is None or self.session is None:
            return None
        offset = linted.index.offset(params.position.line, params.position.character)
        hits = [
            (finding, span)
            for finding, span in zip(linted.outcome.findings, linted.spans, strict=True)
            if span[0] <= offset <= span[1]
        ]
        if not hits:
            return None
        markdown = _capability(self.client_capabilities, "text_document", "hover", "content_format")
        use_markdown = not markdown or types.MarkupKind.Markdown in markdown
        pages = [self._rule_help(finding, use_markdown) for finding, _ in hits]
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown if use_markdown else types.MarkupKind.PlainText,
                value="\n\n---\n\n".join(pages) if use_markdown else "\n\n".join(pages),
            ),
            range=_range(linted.index, *hits[0][1]),
        )

    def _rule_help(self, finding: Finding, markdown: bool) -> str:
        assert self.session is not None
        rule = self.session.ruleset.get(finding.code)
        if rule is None:
            return f"{finding.code} {finding.name}"
        fix = f", {rule.fix.value} fix" if rule.fix else ""
        sections = [(title, rule.section(title)) for title in ("What it does", "Why is this bad?")]
        url = documentation_url(rule)
        if markdown:
            lines = [
                f"**{rule.code}** `{rule.name}` ({rule.severity.value}{fix})",
                "",
                rule.summary,
            ]
            for title, text in sections:
                if text:
                    lines += ["", f"**{title}**", "", text]
            if url:
                lines += ["", f"[{rule.code} documentation]({url})"]
            return "\n".join(lines)
        lines = [f"{rule.code} {rule.name} ({rule.severity.value}{fix})", rule.summary]
        for title, text in sections:
            if text:
                lines += ["", title, text]
        if url:
            lines += ["", url]
        return "\n".join(lines)


def _capability(root: Any, *names: str) -> Any:
    """A nested client capability, or None where any level is missing."""
    for name in names:
        root = getattr(root, name, None)
        if root is None:
            return None
    return root


def _range(index: LineIndex, start: int, end: int) -> types.Range:
    start_line, start_character = index.position(start)
    end_line, end_character = index.position(end)
    return types.Range(
        start=types.Position(line=start_line, character=start_character),
        end=types.Position(line=end_line, character=end_character),
    )


def _finding_diagnostics(linted: Linted) -> list[types.Diagnostic]:
    """The published diagnostics of the findings (a problem's comes first, if any)."""
    skip = 1 if linted.outcome.problem is not None else 0
    return linted.diagnostics[skip:]


def _problem_diagnostic(outcome: Outcome, index: LineIndex) -> types.Diagnostic:
    problem = outcome.problem
    assert problem is not None
    if problem.kind == "document" and problem.line is not None:
        line = min(problem.line, index.line_count) - 1
        start = index.line_start(line)
        if problem.column is not None:
            start = index.character_offset(problem.line, problem.column)
        end = index.line_end(line)
        if start >= end:  # the error is at the end of its line: mark the whole line
            text = outcome.data[index.line_start(line) : end]
            start = index.line_start(line) + len(text) - len(text.lstrip())
        message = problem.message
    else:
        start, end = 0, index.line_end(0)
        message = f"{NAME} could not check this document: {problem.message}"
        if problem.kind == "internal":
            message += " (a bug: please report it with the document)"
    return types.Diagnostic(
        range=_range(index, start, end),
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source=NAME,
    )


# -- the protocol ---------------------------------------------------------------------------


def build_server() -> DomxmlLintServer:
    server = DomxmlLintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: DomxmlLintServer, params: types.InitializeParams) -> None:
        ls.start_session(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: DomxmlLintServer, params: None) -> None:
        ls.shut_down = True

    @server.feature(types.INITIALIZED)
    async def initialized(ls: DomxmlLintServer, params: types.InitializedParams) -> None:
        registrations = []
        if _capability(
            ls.client_capabilities, "workspace", "did_change_configuration", "dynamic_registration"
        ):
            # Clients such as VS Code's send configuration changes only when asked to.
            registrations.append(
                types.Registration(
                    id=f"{NAME}-configuration",
                    method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                    register_options=types.DidChangeConfigurationRegistrationOptions(section=NAME),
                )
            )
        if _capability(
            ls.client_capabilities, "workspace", "did_change_watched_files", "dynamic_registration"
        ):
            watchers = [
                types.FileSystemWatcher(glob_pattern=f"**/{name}")
                for name in (".domxml-lint.toml", "domxml-lint.toml", "pyproject.toml")
            ]
            registrations.append(
                types.Registration(
                    id=f"{NAME}-config-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=watchers
                    ),
                )
            )
        if registrations:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(registrations=registrations)
                )
            except Exception as exc:  # not fatal: config changes are noticed at the next check
                log.warning("client/registerCapability failed: %s", exc)
        await ls.pull_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: DomxmlLintServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if carries_settings(params.settings):
            if ls.apply_settings(settings_section(params.settings)):
                ls.check_all()
        else:  # null or {}: "something changed", the pull model
            await ls.pull_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: DomxmlLintServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        if ls.session is not None and ls.session.refresh():
            ls.check_all()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DomxmlLintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DomxmlLintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check_later(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DomxmlLintServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DomxmlLintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.SourceFixAll,
                FIX_ALL_KIND,
            ]
        ),
    )
    def code_action(
        ls: DomxmlLintServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        return ls.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: DomxmlLintServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params)

    return server


def serve(*, log_level: str = "warning", log_file: str | None = None) -> int:
    """Run the server on stdin and stdout until the client says exit; the exit status
    is 0 after a shutdown request, else 1 (as the protocol asks)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
    )
    # The protocol owns stdout: anything else a rule or plugin prints goes to stderr.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    server = build_server()
    server.start_io(sys.stdin.buffer, protocol_out)
    return 0 if server.shut_down else 1


__all__ = ["FIX_ALL_KIND", "DomxmlLintServer", "build_server", "serve"]
