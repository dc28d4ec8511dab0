"""Inline suppression comments and unused-suppression."""

from __future__ import annotations

from domxml_lint import lint
from samples import domain

DISK = """<disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='unsafe'{extra}/>
      <target dev='{dev}' bus='virtio'/>
    </disk>"""


def guest(*devices: str, head: str = "") -> str:
    """A guest whose devices (and comments among them) are one per line, from line 4."""
    listed = "\n".join(f"    {item}" for item in devices)
    return domain(devices=listed, head=head, name="s", memory=None, vcpu=None)


def codes(text: str, **kwargs) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in lint(text, **kwargs)]


def test_element_suppression_covers_subtree_only():
    text = guest(
        "<!-- domxml-lint: disable=DX401 -->",
        DISK.format(extra="", dev="vda"),
        DISK.format(extra="", dev="vdb"),
    )
    assert codes(text, select="DX401,DX001") == [("DX401", 10)]


def test_names_and_codes_both_work():
    text = guest(
        "<!-- domxml-lint: disable=disk-cache-unsafe -->", DISK.format(extra="", dev="vda")
    )
    assert codes(text, select="DX401,DX001") == []


def test_file_wide_suppression_anywhere():
    text = guest(
        DISK.format(extra="", dev="vda"),
        DISK.format(extra="", dev="vdb"),
        "<!-- domxml-lint: disable-file=DX401 -->",
    )
    assert codes(text, select="DX401,DX001") == []


def test_comment_before_root_targets_the_root():
    text = guest(DISK.format(extra="", dev="vda"), head="<!-- domxml-lint: disable=DX401 -->\n")
    assert codes(text, select="DX401,DX001") == []


def test_suppression_of_one_rule_keeps_others():
    text = guest(
        "<!-- domxml-lint: disable=DX401 -->",
        DISK.format(extra=" io='native'", dev="vda"),
    )
    assert [c for c, _ in codes(text, select="DX401,DX404,DX001")] == ["DX404"]


def test_unused_and_unknown_and_dangling_are_reported():
    text = guest(
        "<!-- domxml-lint: disable=DX404,DX401 -->",
        DISK.format(extra="", dev="vda"),
        "<!-- domxml-lint: disable=nope -->",
        "<!-- domxml-lint: disabel=DX401 -->",
        DISK.format(extra="", dev="vdb"),
        "<!-- domxml-lint: disable=DX401 -->",
    )
    found = lint(text, select="DX401,DX404,DX001")
    messages = [(f.code, f.line, f.message) for f in found]
    assert ("DX001", 4, "unused suppression: `DX404`: suppresses nothing here") in messages
    assert ("DX001", 9, "unused suppression: `nope`: unknown rule") in messages
    assert any(m[1] == 10 and "cannot read" in m[2] for m in messages)
    assert ("DX001", 15, "unused suppression: `DX401`: no element follows the comment") in messages
    # vdb's DX401 is not suppressed: the malformed comment does nothing
    assert ("DX401", 12) in [(f.code, f.line) for f in found]


def test_not_reported_when_the_rule_did_not_run():
    text = guest("<!-- domxml-lint: disable=DX404 -->", DISK.format(extra="", dev="vda"))
    assert codes(text, select="DX401,DX001") == [("DX401", 6)]


def test_unused_suppression_fix_keeps_used_codes():
    from domxml_lint import fix

    text = guest("<!-- domxml-lint: disable=DX404,DX401 -->", DISK.format(extra="", dev="vda"))
    result = fix(text, select="DX401,DX404,DX001")
    assert result.output == text.replace("disable=DX404,DX401", "disable=DX401")


# --- reasons, did-you-mean, trailing comments (issue 18 D2) ---


def test_reason_in_parentheses_is_not_read_as_rules():
    text = guest(
        "<!-- domxml-lint: disable=DX401 (scratch disk, rebuilt on boot) -->",
        DISK.format(extra="", dev="vda"),
    )
    assert codes(text, select="DX401,DX001") == []


def test_bare_reason_after_the_rules_is_a_reason():
    text = guest(
        "<!-- domxml-lint: disable=DX401, disk-cache-unsafe scratch disk: rebuilt on boot -->",
        DISK.format(extra="", dev="vda"),
    )
    assert codes(text, select="DX401,DX001") == []


def test_fix_of_an_unused_rule_keeps_the_reason_and_every_other_byte():
    from domxml_lint import fix

    comment = "<!--  domxml-lint: disable=DX404 , DX401   (scratch disk, rebuilt on boot) -->"
    text = guest(comment, DISK.format(extra="", dev="vda"))
    result = fix(text, select="DX401,DX404,DX001")
    kept = comment.replace("DX404 , DX401", "DX401")
    assert result.output == text.replace(comment, kept)


def test_fix_never_removes_a_comment_that_still_suppresses():
    from domxml_lint import fix

    text = guest(
        "<!-- domxml-lint: disable=DX401,DX4O4 (scratch) -->", DISK.format(extra="", dev="vda")
    )
    found = lint(text, select="DX401,DX404,DX001")
    assert [(f.code, f.message) for f in found] == [
        ("DX001", "unused suppression: `DX4O4`: unknown rule; did you mean `DX404`?")
    ]
    assert found[0].fix is None  # a typo is the user's intent: say, do not delete
    assert fix(text, select="DX401,DX404,DX001").output == text


def test_unknown_rule_without_a_close_match_has_no_suggestion():
    text = guest("<!-- domxml-lint: disable=nope -->", DISK.format(extra="", dev="vda"))
    messages = [f.message for f in lint(text, select="DX401,DX001")]
    assert "unused suppression: `nope`: unknown rule" in messages


def test_rules_separated_by_spaces_are_named_not_swallowed_as_reason():
    text = guest("<!-- domxml-lint: disable=DX404 DX401 -->", DISK.format(extra="", dev="vda"))
    found = [(f.code, f.message) for f in lint(text, select="DX401,DX404,DX001")]
    assert any(
        code == "DX001" and "`DX401`" in message and "commas" in message for code, message in found
    ), found
    assert "DX401" in [code for code, _ in found]  # not suppressed: it is not in the list


def test_malformed_comment_is_reported_without_a_fix():
    text = guest("<!-- domxml-lint: disabel=DX401 -->", DISK.format(extra="", dev="vda"))
    found = [f for f in lint(text, select="DX401,DX001") if f.code == "DX001"]
    assert len(found) == 1 and found[0].fix is None


def test_trailing_comment_after_a_start_tag_covers_that_element():
    disk = DISK.format(extra="", dev="vda").replace(
        "device='disk'>", "device='disk'>  <!-- domxml-lint: disable=DX401 -->"
    )
    assert codes(guest(disk, DISK.format(extra="", dev="vdb")), select="DX401,DX001") == [
        ("DX401", 9)
    ]


def test_trailing_comment_after_an_empty_element_covers_it():
    disk = DISK.format(extra="", dev="vda").replace(
        "cache='unsafe'/>", "cache='unsafe'/> <!-- domxml-lint: disable=DX401 -->"
    )
    assert codes(guest(disk), select="DX401,DX001") == []


def test_trailing_comment_after_an_end_tag_covers_the_closed_element():
    disk = DISK.format(extra="", dev="vda") + " <!-- domxml-lint: disable=DX401 -->"
    assert codes(guest(disk, DISK.format(extra="", dev="vdb")), select="DX401,DX001") == [
        ("DX401", 9)
    ]


def test_comment_on_its_own_line_still_covers_the_next_element():
    text = guest(
        DISK.format(extra="", dev="vda"),
        "<!-- domxml-lint: disable=DX401 -->",
        DISK.format(extra="", dev="vdb"),
    )
    assert codes(text, select="DX401,DX001") == [("DX401", 5)]
