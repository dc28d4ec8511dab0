"""``domxml-lint server`` end to end (issue 19): pytest-lsp starts the real server as a
subprocess and talks LSP to it as an editor does, with the capabilities real editors
send (pytest-lsp's recordings of VS Code, Neovim and Emacs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers import HOSTS, IN_CI, RULE_FIXTURES, run_cli
from samples import BOTH, BROKEN, CLEAN, NATIVE, NATIVE_FIXED, NOT_DOMAIN, disk, domain

try:
    import pytest_lsp
    from lsprotocol import types
    from pygls.protocol import default_converter
    from pytest_lsp import ClientServerConfig, LanguageClient
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, client_capabilities
except ImportError:
    if IN_CI:
        raise
    pytest.skip("pytest-lsp is not installed (pip install -e '.[test]')", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

SERVER = [sys.executable, "-m", "domxml_lint", "server"]
PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
SECTION = "domxml-lint"


def make_client() -> LanguageClient:
    """pytest-lsp's client, also keeping every publishDiagnostics (with its version) and
    the capabilities the server registers."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.published.append(params)  # type: ignore[attr-defined]

    def register(ls: LanguageClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    features = {
        **DEFAULT_CLIENT_FEATURES,
        PUBLISH: publish,
        types.CLIENT_REGISTER_CAPABILITY: register,
    }
    for method, handler in features.items():
        client.feature(method)(handler)
    return client


CONFIG = ClientServerConfig(server_command=SERVER, client_factory=make_client)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    """A server started in ``tmp_path`` by a client with no special capabilities."""
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri())
    )
    yield
    await lsp_client.shutdown_session()


@contextlib.asynccontextmanager
async def editor(
    root: Path,
    *,
    capabilities: types.ClientCapabilities | None = None,
    options: dict | None = None,
    configuration: dict | None = None,
) -> AsyncIterator[LanguageClient]:
    """A server started by a client with these capabilities, initialization options and
    ``workspace/configuration`` answers."""
    started = await CONFIG.start()
    assert isinstance(started, LanguageClient)
    if configuration is not None:
        started.set_configuration(configuration, section=SECTION)
    started.initialized_with = await started.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=capabilities or types.ClientCapabilities(),
            root_uri=root.as_uri(),
            initialization_options=options,
        )
    )
    try:
        yield started
    finally:
        await started.shutdown_session()
        await started.stop()


# -- helpers --------------------------------------------------------------------------------


def open_document(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="xml", version=version, text=text
            )
        )
    )
    return uri


def replace_all(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def published(
    client: LanguageClient,
    uri: str,
    version: int | None = None,
    *,
    until=None,
    timeout: float = 30,
) -> list[types.Diagnostic]:
    """The diagnostics last published for ``uri`` (for ``version``, or once ``until`` holds)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [p for p in client.published if p.uri == uri]  # type: ignore[attr-defined]
        if mine and (version is None or mine[-1].version == version):
            diagnostics = list(mine[-1].diagnostics)
            if until is None or until(diagnostics):
                return diagnostics
        if time.monotonic() > deadline:
            last = mine[-1] if mine else None
            raise AssertionError(f"no diagnostics for {uri} version {version}; last: {last}")
        await asyncio.sleep(0.01)


def codes(diagnostics: Sequence[types.Diagnostic]) -> list[str | int | None]:
    return [d.code for d in diagnostics]


def unit_index(line: str, units: int, encoding: str) -> int:
    """The index in ``line`` of a position ``units`` into it, counted in ``encoding``."""
    if encoding == "utf-32":
        return units
    used = 0
    for index, char in enumerate(line):
        if used >= units:
            return index
        used += len(char.encode("utf-16-le" if encoding == "utf-16" else "utf-8")) // (
            2 if encoding == "utf-16" else 1
        )
    return len(line)


def apply_edit(text: str, edit: types.WorkspaceEdit, uri: str, encoding: str = "utf-16") -> str:
    """The text after an editor applies ``edit`` to ``uri``."""
    if edit.document_changes:
        (change,) = edit.document_changes
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
        edits = list(change.edits)
    else:
        assert edit.changes is not None
        edits = list(edit.changes[uri])
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def index(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        line = lines[position.line].rstrip("\r\n")
        return starts[position.line] + unit_index(line, position.character, encoding)

    for item in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        assert isinstance(item, types.TextEdit)
        text = text[: index(item.range.start)] + item.new_text + text[index(item.range.end) :]
    return text


async def actions(
    client: LanguageClient,
    uri: str,
    where: types.Range,
    only: list[str] | None = None,
    trigger: types.CodeActionTriggerKind | None = None,
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=where,
            context=types.CodeActionContext(diagnostics=[], only=only, trigger_kind=trigger),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def cli_findings(*paths: Path, args: Sequence[str] = ()) -> dict[str, list[dict]]:
    """What ``domxml-lint --output-format json`` reports, per file."""
    done = run_cli("--output-format", "json", "--jobs", "1", *args, *map(str, paths))
    assert done.returncode in (0, 1), done.stderr.decode()
    found: dict[str, list[dict]] = {str(p): [] for p in paths}
    for record in json.loads(done.stdout):
        # Host-wide findings name the host snapshot file; the editor lints documents only.
        found.setdefault(record["filename"], []).append(record)
    return found


# -- diagnostics ----------------------------------------------------------------------------


async def test_opening_a_file_publishes_what_the_command_line_reports(
    client: LanguageClient, tmp_path: Path
):
    path = tmp_path / "vm.xml"
    path.write_text(BOTH)
    uri = open_document(client, path, BOTH)
    diagnostics = await published(client, uri, 1)
    (expected,) = cli_findings(path).values()
    assert [
        (
            d.code,
            d.message,
            d.range.start.line + 1,
            d.range.start.character + 1,
            d.range.end.line + 1,
            d.range.end.character + 1,
        )
        for d in diagnostics
    ] == [
        (r["code"], r["message"], r["line"], r["column"], r["end_line"], r["end_column"])
        for r in expected
    ]
    native = diagnostics[0]
    assert native.severity == types.DiagnosticSeverity.Error and native.source == "domxml-lint"
    assert native.code_description is not None
    assert native.code_description.href.endswith("rules/DX404-io-native-needs-direct-cache.md")


async def test_non_domain_xml_gets_no_diagnostics(client: LanguageClient, tmp_path: Path):
    uri = open_document(client, tmp_path / "net.xml", NOT_DOMAIN)
    assert await published(client, uri, 1) == []


async def test_a_broken_document_gets_one_diagnostic_at_the_error(
    client: LanguageClient, tmp_path: Path
):
    uri = open_document(client, tmp_path / "vm.xml", BROKEN)
    (diagnostic,) = await published(client, uri, 1)
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.message.startswith("not well-formed XML: Opening and ending tag mismatch")
    # libxml2 points past "</domain>" on line 2, the end of that line: the line is marked.
    assert (diagnostic.range.start.line, diagnostic.range.start.character) == (1, 2)
    assert (diagnostic.range.end.line, diagnostic.range.end.character) == (1, 18)
    replace_all(client, uri, NATIVE, 2)  # fixed: findings again, and the server lives on
    assert codes(await published(client, uri, 2)) == ["DX404"]


async def test_changing_the_text_updates_the_diagnostics(client: LanguageClient, tmp_path: Path):
    uri = open_document(client, tmp_path / "vm.xml", NATIVE)
    assert codes(await published(client, uri, 1)) == ["DX404"]
    line = NATIVE.splitlines()[6]
    at = types.Position(line=6, character=line.index("/>"))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=at), text=" cache='none'"
                )
            ],
        )
    )
    assert await published(client, uri, 2) == []
    # A burst of changes: the diagnostics that count are those of the last version.
    for version, text in enumerate([BOTH, NATIVE, BROKEN, CLEAN, BOTH], start=3):
        replace_all(client, uri, text, version)
    assert codes(await published(client, uri, 7)) == ["DX404", "DX401"]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await published(client, uri, until=lambda found: found == []) == []


# -- code actions and hover -------------------------------------------------------------------


async def test_a_quick_fix_gives_the_fixed_text(client: LanguageClient, tmp_path: Path):
    uri = open_document(client, tmp_path / "vm.xml", NATIVE)
    (diagnostic,) = await published(client, uri, 1)
    offered = await actions(client, uri, diagnostic.range, only=["quickfix"])
    fix = next(a for a in offered if a.title.startswith("DX404"))
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.title == "DX404: Set cache='none'"
    assert fix.diagnostics is not None and fix.diagnostics[0].code == "DX404"
    assert fix.edit is not None
    assert apply_edit(NATIVE, fix.edit, uri) == NATIVE_FIXED


async def test_unsafe_fixes_are_labelled(client: LanguageClient, tmp_path: Path):
    uri = open_document(client, tmp_path / "vm.xml", BOTH)
    unsafe = (await published(client, uri, 1))[1]
    assert unsafe.code == "DX401"
    offered = await actions(client, uri, unsafe.range)
    fix = next(a for a in offered if a.title.startswith("DX401"))
    assert fix.title.endswith("(unsafe fix)") and not fix.is_preferred


async def test_fix_all_gives_what_the_command_line_fix_writes(
    client: LanguageClient, tmp_path: Path
):
    text = domain(devices=disk(" io='native'") + disk(" cache='unsafe'", "vdb") + disk("", "vdc"))
    path = tmp_path / "vm.xml"
    path.write_text(text)
    uri = open_document(client, path, text)
    await published(client, uri, 1)
    everything = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
    )
    (fix_all,) = await actions(client, uri, everything, only=["source.fixAll"])
    assert fix_all.kind == "source.fixAll.domxml-lint"
    assert fix_all.title == "domxml-lint: apply all safe fixes"
    assert fix_all.edit is not None
    fixed = apply_edit(text, fix_all.edit, uri)
    done = run_cli("--fix", str(path))
    assert done.returncode in (0, 1), done.stderr.decode()
    assert fixed == path.read_text() != text
    assert await actions(client, uri, everything, only=["refactor"]) == []
    # The light bulb, requested at every cursor move, does not run the fix loop...
    automatic = await actions(
        client, uri, everything, trigger=types.CodeActionTriggerKind.Automatic
    )
    assert fix_all.title not in [a.title for a in automatic]
    # ...asking for the actions does.
    invoked = await actions(client, uri, everything, trigger=types.CodeActionTriggerKind.Invoked)
    assert fix_all.title in [a.title for a in invoked]


async def test_suppress_here_inserts_a_comment_that_silences_the_rule(
    client: LanguageClient, tmp_path: Path
):
    uri = open_document(client, tmp_path / "vm.xml", BOTH)
    native = (await published(client, uri, 1))[0]
    offered = await actions(client, uri, native.range, only=["quickfix"])
    suppress = next(a for a in offered if a.title.startswith("Suppress DX404"))
    assert suppress.title == "Suppress DX404 here (io-native-needs-direct-cache)"
    assert suppress.edit is not None
    text = apply_edit(BOTH, suppress.edit, uri)
    assert (
        "      <!-- domxml-lint: disable=DX404 -->\n      <driver name='qemu' type='raw' io" in text
    )
    replace_all(client, uri, text, 2)
    assert codes(await published(client, uri, 2)) == ["DX401"]  # and no unused-suppression


async def test_hover_shows_the_rules_documentation(client: LanguageClient, tmp_path: Path):
    uri = open_document(client, tmp_path / "vm.xml", NATIVE)
    (diagnostic,) = await published(client, uri, 1)
    inside = types.Position(
        line=diagnostic.range.start.line, character=diagnostic.range.start.character + 2
    )
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=inside)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert text.startswith("**DX404** `io-native-needs-direct-cache` (error, safe fix)")
    assert "**What it does**" in text and "**Why is this bad?**" in text
    assert "io='native' needs cache='none' or 'directsync'" in text  # the summary
    assert hover.range == diagnostic.range
    nowhere = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=3),
        )
    )
    assert nowhere is None


# -- settings ---------------------------------------------------------------------------------


async def test_changing_the_configuration_updates_the_diagnostics(
    client: LanguageClient, tmp_path: Path
):
    uri = open_document(client, tmp_path / "vm.xml", BOTH)
    assert codes(await published(client, uri, 1)) == ["DX404", "DX401"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={SECTION: {"ignore": ["DX404"]}})
    )
    assert codes(await published(client, uri, until=lambda d: codes(d) == ["DX401"])) == ["DX401"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={SECTION: {"failOn": "fatal"}})
    )
    (problem,) = await published(client, uri, until=lambda d: codes(d) == [None])
    assert problem.message.startswith(
        "domxml-lint could not check this document: editor setting failOn must be one of"
    )
    assert any("failOn" in m.message for m in client.messages)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={SECTION: {"failOn": "error"}})
    )
    found = await published(client, uri, until=lambda d: len(d) == 2)
    # Findings below fail-on are shown as information: error and warning mean "fails CI".
    assert [d.severity for d in found] == [types.DiagnosticSeverity.Error] * 2
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={SECTION: {"ignore": ["DX401"]}})
    )
    assert codes(await published(client, uri, until=lambda d: len(d) == 1)) == ["DX404"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={SECTION: {}})  # all settings removed
    )
    assert codes(await published(client, uri, until=lambda d: len(d) == 2)) == ["DX404", "DX401"]


async def test_editor_settings_and_config_files_follow_the_documented_precedence(tmp_path: Path):
    (tmp_path / "domxml-lint.toml").write_text(
        'select = ["DX404", "DX401"]\n[per-file-ignores]\n"legacy/*.xml" = ["DX401"]\n'
    )
    (tmp_path / "legacy").mkdir()
    options = {"settings": {"ignore": ["DX404"]}}
    async with editor(tmp_path, options=options) as client:
        uri = open_document(client, tmp_path / "vm.xml", BOTH)
        legacy = open_document(client, tmp_path / "legacy" / "vm.xml", BOTH)
        # editorFirst: the editor's ignore adjusts the file's selection, as --ignore does.
        assert codes(await published(client, uri, 1)) == ["DX401"]
        assert codes(await published(client, legacy, 1)) == []
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={SECTION: {"configurationPreference": "filesystemFirst"}}
            )
        )
        # The initialization options still hold; the config file now wins over them.
        assert codes(await published(client, uri, until=lambda d: len(d) == 2)) == [
            "DX404",
            "DX401",
        ]
        assert codes(await published(client, legacy, until=lambda d: len(d) == 1)) == ["DX404"]


async def test_a_changed_config_file_is_read_again(tmp_path: Path):
    capabilities = client_capabilities("visual-studio-code")
    async with editor(tmp_path, capabilities=capabilities) as client:
        uri = open_document(client, tmp_path / "vm.xml", BOTH)
        assert codes(await published(client, uri, 1)) == ["DX404", "DX401"]
        watched = [
            r for r in client.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        ]
        assert watched, client.registrations
        globs = {w["globPattern"] for w in watched[0].register_options["watchers"]}
        assert globs == {"**/.domxml-lint.toml", "**/domxml-lint.toml", "**/pyproject.toml"}
        config = tmp_path / "domxml-lint.toml"
        config.write_text('ignore = ["DX401"]\n')
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)]
            )
        )
        assert codes(await published(client, uri, until=lambda d: len(d) == 1)) == ["DX404"]
        config.write_text("select = [")  # broken: one diagnostic that says where and why
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        (problem,) = await published(client, uri, until=lambda d: codes(d) == [None])
        assert "domxml-lint.toml: invalid TOML" in problem.message


async def test_settings_pulled_from_an_editor_that_supports_it(tmp_path: Path):
    capabilities = client_capabilities("emacs")  # eglot: workspace/configuration
    configuration = {"ignore": ["DX401"]}
    async with editor(tmp_path, capabilities=capabilities, configuration=configuration) as client:
        uri = open_document(client, tmp_path / "vm.xml", BOTH)
        assert codes(await published(client, uri, until=lambda d: len(d) == 1)) == ["DX404"]
        client.set_configuration({"ignore": ["DX404"]}, section=SECTION)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)  # "changed": pull again
        )
        assert codes(await published(client, uri, until=lambda d: codes(d) == ["DX401"])) == [
            "DX401"
        ]


# -- positions --------------------------------------------------------------------------------

#: A line whose finding stands after characters of 1, 2, 3 and 4 UTF-8 bytes.
WIDE = domain(
    devices="    <disk type='file' device='disk'>\n"
    "      <!-- aé€😀 --><driver name='qemu' type='raw' io='native'/>\n"
    "      <source file='/srv/vda.img'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
)


@pytest.mark.parametrize(
    "recording,encoding",
    [("visual-studio-code", "utf-16"), ("neovim@v0.11.0", "utf-8"), ("emacs", "utf-32")],
)
async def test_positions_follow_the_negotiated_encoding(tmp_path: Path, recording, encoding):
    async with editor(tmp_path, capabilities=client_capabilities(recording)) as client:
        result = client.initialized_with  # type: ignore[attr-defined]
        assert result.capabilities.position_encoding == encoding
        uri = open_document(client, tmp_path / "vm.xml", WIDE)
        (diagnostic,) = await published(client, uri, 1)
        line = WIDE.splitlines()[diagnostic.range.start.line]
        start = unit_index(line, diagnostic.range.start.character, encoding)
        assert line[start:].startswith("io='native'")
        offered = await actions(client, uri, diagnostic.range, only=["quickfix"])
        fix = next(a for a in offered if a.title.startswith("DX404"))
        assert fix.edit is not None
        fixed = apply_edit(WIDE, fix.edit, uri, encoding)
        assert fixed == WIDE.replace("io='native'/>", "io='native' cache='none'/>")


def _fixtures(*, with_host: bool) -> list[Path]:
    found = []
    for folder in sorted(RULE_FIXTURES.iterdir()):
        if (folder / "hosts.txt").exists() != with_host:
            continue
        found += sorted(p for p in folder.glob("*.xml") if not p.name.endswith(".fixed.xml"))
    return found


async def _same_as_the_command_line(
    client: LanguageClient, files: Sequence[Path], expected: dict[str, list[dict]]
) -> None:
    # utf-32: LSP characters are code points, the command line's columns minus one.
    for path in files:
        uri = open_document(client, path, path.read_text(encoding="utf-8"))
        found = await published(client, uri, 1)
        assert [
            (d.code, d.message, d.range.start.line + 1, d.range.start.character + 1)
            for d in found
            if d.code is not None
        ] == [(r["code"], r["message"], r["line"], r["column"]) for r in expected[str(path)]], path
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )


async def test_every_rule_fixture_gets_the_command_lines_findings(tmp_path: Path):
    """Every rule's fixtures, all rules: the same findings at the same places as the CLI."""
    files = _fixtures(with_host=False)
    expected = cli_findings(*files, args=("--no-config", "--select", "ALL"))
    options = {"select": ["ALL"], "configurationPreference": "editorOnly"}
    capabilities = client_capabilities("emacs")
    async with editor(tmp_path, capabilities=capabilities, options=options) as client:
        await _same_as_the_command_line(client, files, expected)
    assert sum(map(len, expected.values())) > 100


async def test_host_aware_fixtures_get_the_command_lines_findings_through_a_config(
    tmp_path: Path,
):
    """The host-aware rules' fixtures, each folder with a config file naming its host."""
    files = []
    for source in _fixtures(with_host=True):
        folder = tmp_path / source.parent.name
        if not folder.exists():
            folder.mkdir()
            hosts = (source.parent / "hosts.txt").read_text().split()
            listed = ", ".join(json.dumps(str(HOSTS / name)) for name in hosts)
            (folder / "domxml-lint.toml").write_text(f'select = ["ALL"]\nhost = [{listed}]\n')
        copy = folder / source.name
        copy.write_bytes(source.read_bytes())
        files.append(copy)
    # One command line per file: the editor lints one document, without the other guests
    # that cross-guest (plan) rules compare it with.
    with ThreadPoolExecutor(2) as pool:
        expected = {}
        for found in pool.map(cli_findings, files):
            expected.update(found)
    about_hosts = set(expected) - {str(p) for p in files}
    assert all(Path(name).parent.name == "hosts" for name in about_hosts), about_hosts
    async with editor(tmp_path, capabilities=client_capabilities("emacs")) as client:
        await _same_as_the_command_line(client, files, expected)
    assert sum(len(expected[str(p)]) for p in files) > 20


# -- the process ------------------------------------------------------------------------------


async def test_exit_status_says_whether_shutdown_came_first(tmp_path: Path):
    async with editor(tmp_path) as client:
        server = client._server
    assert server is not None and server.returncode == 0
    started = await CONFIG.start()
    await started.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities())
    )
    started.exit(None)  # no shutdown first: the protocol asks for status 1
    await started.stop()
    assert started._server is not None and started._server.returncode == 1


async def test_stray_output_cannot_corrupt_the_protocol(tmp_path: Path):
    """A rule or plugin that prints writes to stderr, never into the LSP stream."""
    code = (
        "import builtins, sys\n"
        "from domxml_lint.lsp import server\n"
        "original = server.DomxmlLintServer.check\n"
        "def noisy(self, uri):\n"
        "    print('Content-Length: 3\\r\\n\\r\\nbad')\n"
        "    return original(self, uri)\n"
        "server.DomxmlLintServer.check = noisy\n"
        "sys.exit(server.serve())\n"
    )
    config = ClientServerConfig(
        server_command=[sys.executable, "-c", code], client_factory=make_client
    )
    client = await config.start()
    await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri())
    )
    uri = open_document(client, tmp_path / "vm.xml", NATIVE)
    assert codes(await published(client, uri, 1)) == ["DX404"]
    await client.shutdown_session()
    await client.stop()
