"""The language server's protocol-free parts, in process: positions, settings, the
session that checks buffers as the command line checks files, and the code actions'
byte edits (issue 19). The server itself is tested end to end in test_lsp.py."""

from __future__ import annotations

import os
import sys

import pytest

from domxml_lint import cli
from domxml_lint.config import ConfigResolver, Overrides, settings_for
from domxml_lint.document import Document
from domxml_lint.errors import UsageError
from domxml_lint.findings import Severity
from domxml_lint.fixer import fix_document
from domxml_lint.lsp.positions import UTF8, UTF16, UTF32, LineIndex
from domxml_lint.lsp.session import (
    EDITOR_ONLY,
    FILESYSTEM_FIRST,
    Session,
    carries_settings,
    encode_text,
    parse_settings,
    settings_section,
)
from domxml_lint.lsp.textedits import apply, edits_between, fix_edits, suppression_edit
from domxml_lint.plan import RunPlan
from domxml_lint.plugins import load_ruleset
from helpers import HOSTS
from samples import BOTH, BROKEN, CLEAN, NATIVE, NATIVE_FIXED, NOT_DOMAIN, disk, domain

RULESET = load_ruleset()


def codes(outcome) -> list[str]:
    return [f.code for f in outcome.findings]


# -- positions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit,expected", [(UTF16, (1, 6)), (UTF8, (1, 9)), (UTF32, (1, 5))]
)  # fmt: skip
def test_a_byte_offset_becomes_a_position_in_the_negotiated_unit(unit, expected):
    text = "<a>\n<b>é😀x</b>\n"  # é: 2 UTF-8 bytes, 1 UTF-16 unit; 😀: 4 bytes, 2 units
    data = text.encode()
    index = LineIndex(data, "utf-8", unit)
    offset = data.index(b"x")
    assert index.position(offset) == expected
    assert index.offset(*expected) == offset


def test_positions_inside_a_character_round_down_and_past_the_line_clamp():
    data = "a😀b\nnext".encode()
    index = LineIndex(data, "utf-8", UTF16)
    assert index.offset(0, 2) == 1  # the middle of 😀's surrogate pair: before it
    assert index.offset(0, 99) == data.index(b"\n")  # past the line: its end
    assert index.offset(7, 0) == len(data)  # past the last line: the end


def test_lsp_lines_end_at_cr_lf_and_crlf_and_findings_count_newlines_only():
    data = b"one\r\ntwo\rthree\nfour"
    index = LineIndex(data, "utf-8", UTF16)
    assert index.line_count == 4
    assert index.position(data.index(b"three")) == (2, 0)
    assert index.position(data.index(b"\r\n") + 1) == (0, 3)  # inside CRLF: end of line 0
    # A finding's (line, column) counts lines by \n: "two\rthree" is its line 2.
    assert index.finding_offset(2, 5) == data.index(b"three")
    assert index.finding_offset(3, 1) == data.index(b"four")


def test_a_finding_column_starts_after_a_byte_order_mark_as_the_document_counts_it():
    data = b"\xef\xbb\xbf<domain type='kvm'/>"
    doc = Document.parse(data)
    index = LineIndex(data, "utf-8", UTF16)
    offset = data.index(b"type")
    assert index.finding_offset(*doc.position(offset)) == offset
    assert index.position(offset) == (0, 9)  # the editor's text holds the mark: one unit


def test_a_single_byte_encoding_maps_through_its_own_characters():
    text = "<?xml version='1.0' encoding='ISO-8859-1'?>\n<a>ü😀</a>"
    with pytest.raises(UnicodeEncodeError):
        encode_text(text)
    data, encoding = encode_text(text.replace("😀", "z"))
    assert encoding == "iso8859-1" and data.count("ü".encode("latin-1")) == 1
    index = LineIndex(data, encoding, UTF8)
    assert index.position(data.index(b"z")) == (1, 5)  # ü is two UTF-8 bytes in the editor


# -- settings -------------------------------------------------------------------------------


def test_settings_nest_under_the_tool_name_or_settings_or_not_at_all():
    inner = {"select": ["DX4"]}
    assert settings_section({"domxml-lint": inner}) == inner
    assert settings_section({"settings": inner}) == inner
    assert settings_section({"settings": {"domxml-lint": inner}}) == inner
    assert settings_section(inner) == inner
    assert settings_section(None) == {}


@pytest.mark.parametrize(
    "raw,carries",
    [
        (None, False),
        ({}, False),
        ({"settings": None}, False),
        ({"domxml-lint": {}}, True),
        ({"settings": {"select": ["DX4"]}}, True),
        ({"select": ["DX4"]}, True),
    ],
)
def test_a_configuration_change_carries_settings_or_asks_to_pull_them(raw, carries):
    assert carries_settings(raw) is carries


def test_settings_take_camel_or_kebab_case_and_warn_about_unknown_keys(tmp_path):
    (tmp_path / "host.xml").write_text("<capabilities/>")
    settings, warnings = parse_settings(
        {"fail-on": "error", "extendSelect": "DX801", "host": "host.xml", "slect": ["DX4"]},
        RULESET,
        str(tmp_path),
    )
    assert settings.fail_on is Severity.ERROR
    assert settings.extend_select == ("DX801",)
    assert settings.host == (str(tmp_path / "host.xml"),)
    assert warnings == [
        "unknown setting 'slect'; did you mean 'select'? (known: select, extendSelect, ignore, "
        "host, failOn, unsafeFixes, configuration, configurationPreference); ignored"
    ]


@pytest.mark.parametrize(
    "raw,expected",
    [
        ({"failOn": "fatal"}, "editor setting failOn must be one of info, warning, error"),
        ({"select": ["DX4O4"]}, "editor setting select: unknown rule"),
        ({"host": "missing.xml"}, "editor setting host: 'missing.xml' not found"),
        ({"unsafeFixes": "yes"}, "editor setting unsafeFixes must be true or false"),
        ({"configurationPreference": "mine"}, "must be one of editorFirst, filesystemFirst"),
    ],
)
def test_bad_settings_say_which_setting_and_what_to_write(tmp_path, raw, expected):
    with pytest.raises(UsageError, match=expected.replace("(", r"\(")):
        parse_settings(raw, RULESET, str(tmp_path))


# -- the session: the command line's results for a buffer -----------------------------------


def test_a_buffer_gets_what_the_command_line_gets_for_the_same_file(tmp_path):
    (tmp_path / "domxml-lint.toml").write_text(
        # DX801 judges migration for QEMU older than 4.0 only.
        'extend-select = ["DX801"]\nqemu-version = "3.1.0"\n'
        '[per-file-ignores]\n"legacy/*.xml" = ["DX401"]\n'
    )
    (tmp_path / "legacy").mkdir()
    session = Session(RULESET, str(tmp_path))
    for name in ("vm.xml", "legacy/vm.xml"):
        path = str(tmp_path / name)
        resolver = ConfigResolver(RULESET, cwd=str(tmp_path))
        expected = (
            RunPlan(RULESET)
            .linter(settings_for(resolver.for_path(path), Overrides(), path))
            .check(Document.parse(BOTH.encode(), path))
            .findings
        )
        assert list(session.check(path, BOTH).findings) == expected
    legacy = codes(session.check(str(tmp_path / "legacy/vm.xml"), BOTH))
    assert "DX801" in legacy and "DX404" in legacy and "DX401" not in legacy


def test_editor_settings_act_as_command_line_options_by_default(tmp_path):
    (tmp_path / "vms").mkdir()
    (tmp_path / "vms" / "domxml-lint.toml").write_text('select = ["DX404"]\n')
    path = str(tmp_path / "vms" / "vm.xml")
    unconfigured = str(tmp_path / "other" / "vm.xml")
    session = Session(RULESET, str(tmp_path))
    assert codes(session.check(path, BOTH)) == ["DX404"]
    session.configure({"select": ["DX401"]})  # replaces the file's selection, as --select
    assert codes(session.check(path, BOTH)) == ["DX401"]
    session.configure({"select": ["DX401"], "configurationPreference": FILESYSTEM_FIRST})
    assert codes(session.check(path, BOTH)) == ["DX404"]  # the file wins where there is one
    assert codes(session.check(unconfigured, BOTH)) == ["DX401"]  # no file above it
    session.configure({"ignore": ["DX401"], "configurationPreference": EDITOR_ONLY})
    assert "DX404" in codes(session.check(path, BOTH))  # no file: the defaults, minus DX401
    assert "DX401" not in codes(session.check(path, BOTH))


def test_a_changed_or_new_config_file_is_read_at_the_next_check(tmp_path):
    (tmp_path / "vms").mkdir()
    path = str(tmp_path / "vms" / "vm.xml")
    session = Session(RULESET, str(tmp_path))
    assert codes(session.check(path, BOTH)) == ["DX404", "DX401"]
    config = tmp_path / "domxml-lint.toml"
    config.write_text('ignore = ["DX401"]\n')
    assert codes(session.check(path, BOTH)) == ["DX404"]
    nearer = tmp_path / "vms" / ".domxml-lint.toml"
    nearer.write_text('ignore = ["DX404"]\n')
    assert codes(session.check(path, BOTH)) == ["DX401"]
    nearer.write_text('ignore = ["DX404", "DX401"]\n')
    os.utime(nearer, ns=(1, 1))  # a different stamp even within the clock's resolution
    assert codes(session.check(path, BOTH)) == []
    nearer.write_text("select = [")
    problem = session.check(path, BOTH).problem
    assert problem is not None and problem.kind == "settings"
    assert "invalid TOML" in problem.message and problem.line is None


def test_force_exclude_leaves_an_excluded_file_alone_as_stdin_filename_does(tmp_path):
    (tmp_path / "domxml-lint.toml").write_text('extend-exclude = ["legacy/"]\n')
    path = str(tmp_path / "legacy" / "vm.xml")
    session = Session(RULESET, str(tmp_path))
    assert codes(session.check(path, NATIVE)) == ["DX404"]  # named files are checked...
    (tmp_path / "domxml-lint.toml").write_text(
        'extend-exclude = ["legacy/"]\nforce-exclude = true\n'
    )
    outcome = session.check(path, NATIVE)  # ...unless force-exclude says otherwise
    assert outcome.skipped is not None and not codes(outcome)
    assert outcome.skipped.startswith("excluded by 'legacy/' from ")


def test_non_domain_xml_and_empty_buffers_are_not_judged():
    session = Session(RULESET)
    for text in (NOT_DOMAIN, "", "  \n", "<!-- a start -->\n"):
        outcome = session.check(None, text)
        assert outcome.skipped and outcome.problem is None and not outcome.findings


def test_a_broken_document_is_one_problem_at_the_error():
    outcome = Session(RULESET).check(None, BROKEN)
    assert outcome.problem is not None
    assert (outcome.problem.kind, outcome.problem.line, outcome.problem.column) == (
        "document",
        2,
        19,
    )
    assert outcome.problem.message.startswith("not well-formed XML: Opening and ending tag")
    assert outcome.problem.message.endswith("(fix the XML syntax)")


def test_a_character_the_declared_encoding_lacks_is_a_problem_where_it_stands():
    text = "<?xml version='1.0' encoding='ISO-8859-1'?>\n<domain>\n  <name>€</name>\n</domain>\n"
    problem = Session(RULESET).check(None, text).problem
    assert problem is not None and (problem.line, problem.column) == (3, 9)
    assert "'€' (U+20AC) cannot be written in the encoding" in problem.message


def test_bad_editor_settings_become_a_problem_on_every_domain_only():
    session = Session(RULESET)
    assert session.configure({"failOn": "fatal"}) == []
    assert session.settings_error is not None
    problem = session.check(None, NATIVE).problem
    assert problem is not None and problem.kind == "settings"
    assert problem.message.startswith("editor setting failOn must be one of")
    assert session.check(None, NOT_DOMAIN).problem is None
    session.configure({})
    assert codes(session.check(None, NATIVE)) == ["DX404"]


def test_editor_settings_resolve_host_paths_against_the_workspace(tmp_path):
    os.symlink(HOSTS / "epyc-2node.xml", tmp_path / "host.xml")
    session = Session(RULESET, str(tmp_path))
    session.configure({"host": "host.xml"})
    settings = session.check(None, CLEAN).settings
    assert settings is not None and settings.host.files == (str(tmp_path / "host.xml"),)


# -- code actions' byte edits -----------------------------------------------------------------


def test_a_quick_fix_is_the_findings_own_edits():
    outcome = Session(RULESET).check(None, NATIVE)
    (finding,) = outcome.findings
    assert apply(outcome.data, "utf-8", fix_edits(finding)) == NATIVE_FIXED.encode()


@pytest.mark.parametrize("unsafe", [False, True])
def test_fix_all_edits_are_minimal_and_reproduce_the_fix_loop(unsafe):
    # Several rules fix one document (unsafe fixes too, when allowed).
    text = domain(devices=disk(" io='native'") + disk(" cache='unsafe'", "vdb") + disk("", "vdc"))
    session = Session(RULESET)
    session.configure({"select": ["ALL"], "unsafeFixes": unsafe})
    outcome = session.check(None, text)
    assert outcome.doc is not None and outcome.linter is not None
    result = fix_document(outcome.doc, outcome.linter, unsafe=unsafe)
    assert result.changed
    edits = edits_between(result)
    assert apply(outcome.data, "utf-8", edits) == result.data
    assert sum(end - start for start, end, _ in edits) < len(outcome.data) // 4


def test_suppressing_here_inserts_an_indented_comment_before_the_element():
    outcome = Session(RULESET).check(None, BOTH)
    assert outcome.doc is not None
    native, unsafe = outcome.findings
    edit = suppression_edit(outcome.doc, native)
    assert edit is not None
    suppressed = apply(outcome.data, "utf-8", [edit]).decode()
    assert "      <!-- domxml-lint: disable=DX404 -->\n      <driver" in suppressed
    assert codes(Session(RULESET).check(None, suppressed)) == ["DX401"]
    # A second rule on the same element joins the comment already there.
    both_on_vda = suppressed.replace("io='native'", "io='native' cache='unsafe'")
    again = Session(RULESET).check(None, both_on_vda)
    assert again.doc is not None and codes(again) == ["DX401", "DX401"]
    edit = suppression_edit(again.doc, again.findings[0])
    assert edit is not None
    joined = apply(again.data, "utf-8", [edit]).decode()
    assert "<!-- domxml-lint: disable=DX404,DX401 -->" in joined
    assert codes(Session(RULESET).check(None, joined)) == ["DX401"]  # vdb's still stands


def test_suppressing_an_element_that_shares_its_line_inserts_the_comment_inline():
    text = domain(devices="    <disk type='file'><driver name='qemu' io='native'/>"
                  "<source file='/a.img'/><target dev='vda' bus='virtio'/></disk>\n")  # fmt: skip
    outcome = Session(RULESET).check(None, text)
    assert outcome.doc is not None and codes(outcome) == ["DX404"]
    edit = suppression_edit(outcome.doc, outcome.findings[0])
    assert edit is not None
    suppressed = apply(outcome.data, "utf-8", [edit]).decode()
    (changed,) = [line for line in suppressed.splitlines() if "domxml-lint:" in line]
    assert changed.count("<!-- domxml-lint: disable=DX404 -->") == 1 and "<driver" in changed
    assert suppressed.count("\n") == text.count("\n")  # inline: no line added
    assert codes(Session(RULESET).check(None, suppressed)) == []
    # The comment covers the driver alone: a DX404 on another disk still fires.
    second = disk(" io='native'", "vdb")
    both = suppressed.replace("  </devices>", second + "  </devices>")
    assert codes(Session(RULESET).check(None, both)) == ["DX404"]


# -- the command ----------------------------------------------------------------------------


def test_the_server_command_without_pygls_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.delitem(sys.modules, "domxml_lint.lsp.server", raising=False)
    assert cli.main(["server"]) == 2
    error = capsys.readouterr().err
    assert "`domxml-lint server` needs pygls 2 (the lsp extra)" in error
    assert "pip install 'pygls>=2,<3'" in error


def test_the_plain_command_does_not_import_the_server(tmp_path):
    import subprocess

    vm = tmp_path / "vm.xml"
    vm.write_text(NATIVE)
    code = (
        "import sys\nfrom domxml_lint import cli\n"
        f"cli.main(['--no-config', {str(vm)!r}])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')\n"
        "          or m.startswith('domxml_lint.lsp')]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b"DX404" in done.stdout
