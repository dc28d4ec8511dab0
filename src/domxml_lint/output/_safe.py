"""Strings made safe for machine formats: any file name in valid UTF-8 JSON and XML.

Only the json, sarif and junit formats import this (the patterns cost start-up time).
"""

from __future__ import annotations

import re

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
