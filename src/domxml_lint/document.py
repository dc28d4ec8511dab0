"""A parsed domain XML document: original bytes, a hardened lxml tree and a source map.

The bytes are the truth. lxml answers queries; a scan of the same bytes (made
only when a location or an edit is needed) maps elements to byte spans, so
fixes can be byte edits that leave everything else untouched.
"""

from __future__ import annotations

import codecs
import functools
import re
from bisect import bisect_right

from lxml import etree

from ._lazy import lazy
from ._records import NamedTuple
from .errors import HostileInputError, InputError, InternalError

#: Largest file read, the same limit ``virsh define`` applies (VSH_MAX_XML_FILE).
MAX_FILE_BYTES = 10 * 1024 * 1024

#: Most elements in one document: bounds memory (about 2 KiB per element with findings).
#: The largest domain in libvirt's test suite has under 700; 4096 pinned vCPUs need ~8,300.
MAX_ELEMENTS = 100_000

#: Deepest nesting libxml2 accepts without XML_PARSE_HUGE (domain XML nests under 10 deep).
MAX_DEPTH = 256

XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
XINCLUDE_NS_2003 = "http://www.w3.org/2003/XInclude"  # libxml2 still honours the draft one

# Bytes between checkpoints of the byte -> character index used for columns.
_MARK_EVERY = 4096

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    remove_comments=False,
    remove_pis=False,
    strip_cdata=False,
    collect_ids=False,
)

# Prolog without a DOCTYPE: optional declaration, comments and PIs, then the root name.
# Atomic and possessive: "(?:\s+|...)*" backtracked exponentially on 30 blank lines before a
# DOCTYPE or on a text file starting with spaces.
_ROOT_NAME = re.compile(rb"(?:\xef\xbb\xbf)?(?>\s+|<\?.*?\?>|<!--.*?-->)*+<([^\s/>!?\x00]+)", re.S)
# A start tag from '<' to its '>' (quoted values may hold '>'). Group 1 is '/' if self-closing.
_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")
_ATTRIBUTE = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_LEADING_WS = re.compile(rb"(?m)^([ \t]+)<")
# Once lxml has accepted a document (and a DOCTYPE was refused), every '<' in it opens a start
# tag, an end tag, a comment, a CDATA section or a processing instruction; attribute values
# and text cannot hold one. These match the last three whole, so a '<' inside them is
# skipped, and otherwise match only the '<': one character for a start tag, "</" for an end.
_MARKUP = re.compile(rb"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|(?=[^/!?]))", re.S)
_COUNT_ELEMENTS = etree.XPath("count(//*)")
_ELEMENTS_BEFORE = etree.XPath("count(preceding::*) + count(ancestor::*)")
_END_TAG_OR_SKIPPED = re.compile(rb"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|/)", re.S)


class ElementSpan(NamedTuple):
    """Byte offsets of one element: its start tag and its end tag.

    For a self-closing element the end tag is empty: ``end_start == end == start_end``.
    """

    start: int
    start_end: int
    end_start: int
    end: int

    @property
    def self_closing(self) -> bool:
        return self.end == self.start_end


class AttributeSpan(NamedTuple):
    """Byte offsets of one attribute; ``name_start`` .. ``value_end + 1`` is ``name='value'``."""

    name_start: int
    value_start: int
    value_end: int
    quote: str

    @property
    def end(self) -> int:
        return self.value_end + 1


class Style(NamedTuple):
    """How the file is written, so that inserted text blends in."""

    quote: str = "'"
    indent: str = "  "
    newline: str = "\n"


def sniff_root_name(data: bytes) -> str | None:
    """The root element's name, read without building a tree (None if not found).

    Used to skip non-domain XML cheaply; a DOCTYPE or odd prolog falls back to
    expat, which stops at the root's start tag and expands nothing.
    """
    match = _ROOT_NAME.match(data)
    if match:
        return match.group(1).decode("utf-8", "replace")
    return _sniff_root_with_expat(data)


class _RootFound(Exception):
    pass


def _sniff_root_with_expat(data: bytes) -> str | None:
    import xml.parsers.expat  # rare paths only: not on every start-up

    parser = xml.parsers.expat.ParserCreate()
    name: list[str] = []

    def start(tag: str, _attrs: object) -> None:
        name.append(tag)
        raise _RootFound

    parser.StartElementHandler = start
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _RootFound:
        pass
    except (xml.parsers.expat.ExpatError, ValueError):
        pass
    return name[0] if name else None


class Document:
    """One XML document. Construct with :meth:`parse`."""

    def __init__(self, data: bytes, path: str, root: etree._Element, encoding: str) -> None:
        self.data = data
        self.path = path
        self.root = root
        self.encoding = encoding
        self._position_lookups = 0
        self._element_lookups = 0

    # -- construction ---------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes, path: str = "<string>") -> Document:
        """Parse ``data`` safely, or raise :class:`InputError` naming the file and line."""
        if len(data) > MAX_FILE_BYTES:
            raise InputError(
                path,
                f"file is {len(data)} bytes, larger than the {MAX_FILE_BYTES // 1048576} MiB "
                "limit (the most `virsh define` reads)",
                hint="split it or check that it really is a domain definition",
            )
        _reject_unsupported_encoding(data, path)
        if b"<!DOCTYPE" in data:
            _reject_doctype(data, path)
        # Cheap upper bounds first (an element takes at least 4 bytes, "<a/>"); count exactly
        # only then.
        if len(data) > 4 * MAX_ELEMENTS and _start_tags_at_most(data) > MAX_ELEMENTS:
            _reject_too_many_elements(data, path)
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(exc, path) from None
        if b"XInclude" in data:
            _reject_xinclude(root, path)
        encoding = _python_codec(root.getroottree().docinfo.encoding, path)
        return cls(data, path, root, encoding)

    # -- elements and the source map ------------------------------------------------

    @lazy
    def elements(self) -> list[etree._Element]:
        """Every element in document order (the order their start tags appear in the bytes)."""
        return list(self.root.iter(etree.Element))

    @lazy
    def _index(self) -> dict[etree._Element, int]:
        return {el: i for i, el in enumerate(self.elements)}

    #: Elements located one by one (an XPath count each) before indexing them all pays off:
    #: most documents have a few findings, and indexing makes a proxy for every element.
    _COUNTED_LOOKUPS = 32

    def _index_of(self, element: etree._Element) -> int:
        """The element's position in document order."""
        if element is self.root:
            return 0
        if "elements" in self.__dict__:
            # Already listed (a lint lists them for the tag set): indexing them all costs
            # less than one XPath count (~1.7 us against 2-5 us for a corpus file).
            return self._index[element]
        self._element_lookups += 1
        if self._element_lookups <= self._COUNTED_LOOKUPS:
            return int(_ELEMENTS_BEFORE(element))  # type: ignore[arg-type]  # a count: a float
        return self._index[element]

    @lazy
    def _starts(self) -> list[int]:
        """Byte offset of every start tag, in document order."""
        starts = [m.start() for m in _MARKUP.finditer(self.data) if m.end() - m.start() == 1]
        elements = int(_COUNT_ELEMENTS(self.root))  # type: ignore[arg-type]  # a float
        if len(starts) != elements:
            raise InternalError(
                self.path,
                f"source map has {len(starts)} elements but the tree has {elements}",
                hint="please report this file",
            )
        return starts

    @lazy
    def _span_cache(self) -> dict[int, ElementSpan]:
        return {}

    @lazy
    def spans(self) -> list[ElementSpan]:
        """Byte spans of every element, parallel to :attr:`elements`."""
        return [self._span_at(index) for index in range(len(self.elements))]

    def span(self, element: etree._Element) -> ElementSpan:
        """Byte span of one element (only elements that get a finding or an edit pay for it)."""
        return self._span_at(self._index_of(element), element)

    def start_tag(self, element: etree._Element) -> tuple[int, int]:
        """Byte offsets of the element's start tag, ``span(element)[:2]``: what locating a
        finding needs, without finding the end tag (the end of every last child below)."""
        index = self._index_of(element)
        cached = self._span_cache.get(index)
        if cached is not None:
            return cached.start, cached.start_end
        match = self._start_tag_at(index)
        return match.start(), match.end()

    @lazy
    def _root_start(self) -> int:
        """Where the root's start tag begins: the first start tag (no whole-file scan)."""
        for markup in _MARKUP.finditer(self.data):
            if markup.end() - markup.start() == 1:
                return markup.start()
        raise InternalError(self.path, "no start tag")  # pragma: no cover - lxml parsed one

    def _start_tag_at(self, index: int) -> re.Match[bytes]:
        if index == 0 and "_starts" not in self.__dict__:
            start = self._root_start
        else:
            start = self._starts[index]
        match = _START_TAG.match(self.data, start)
        if match is None:  # pragma: no cover - lxml accepted a tag the regex cannot read
            raise InternalError(self.path, f"unreadable start tag at byte {start}")
        return match

    def _span_at(self, index: int, element: etree._Element | None = None) -> ElementSpan:
        cached = self._span_cache.get(index)
        if cached is not None:
            return cached
        data = self.data
        match = self._start_tag_at(index)
        start, start_end = match.start(), match.end()
        if match.group(1):  # "/>": attribute values are quoted, so this ends the tag
            span = ElementSpan(start, start_end, start_end, start_end)
        else:
            # The end tag is the first one after the last child element's end (text holds no
            # '<'); a comment, CDATA section or PI in between is skipped whole.
            if element is None:
                element = self.elements[index]
            last_child = next(element.iterchildren(etree.Element, reversed=True), None)
            after = start_end if last_child is None else self.span(last_child).end
            end_tag = _END_TAG_OR_SKIPPED.search(data, after)
            while end_tag is not None and end_tag.end() - end_tag.start() != 2:
                end_tag = _END_TAG_OR_SKIPPED.search(data, end_tag.end())
            if end_tag is None:  # pragma: no cover - lxml accepted an unclosed element
                raise InternalError(self.path, f"no end tag for the element at byte {start}")
            end_start = end_tag.start()
            span = ElementSpan(start, start_end, end_start, data.index(b">", end_start) + 1)
        self._span_cache[index] = span
        return span

    def attribute_span(self, element: etree._Element, name: str) -> AttributeSpan | None:
        """Where attribute ``name`` (as written, e.g. ``cache``) sits in the start tag."""
        start, start_end = self.start_tag(element)
        wanted = name.encode()
        for match in _ATTRIBUTE.finditer(self.data, start, start_end):
            if match.group(1) == wanted:
                group = 2 if match.group(2) is not None else 3
                return AttributeSpan(
                    name_start=match.start(1),
                    value_start=match.start(group),
                    value_end=match.end(group),
                    quote=chr(self.data[match.start(group) - 1]),
                )
        return None

    def xpath_of(self, element: etree._Element) -> str:
        """The element's XPath, as lxml's ``getpath`` writes it (``/domain/devices/disk[2]``).

        Memoized per document, with sibling positions counted once per parent:
        ``getpath`` rescans the preceding siblings on every call, which is
        quadratic in a domain with a thousand disks.
        """
        cached = self._paths.get(element)
        if cached is not None:
            return cached
        self._element_lookups += 1
        if self._element_lookups <= self._COUNTED_LOOKUPS:  # libxml2's own walk, for a few
            path = self._paths[element] = self.root.getroottree().getpath(element)
            return path
        tag = element.tag
        parent = element.getparent()
        if parent is None or not isinstance(tag, str) or tag[0] == "{":
            path = self.root.getroottree().getpath(element)  # root, or namespaced: rare
        else:
            positions, totals = self._sibling_positions(parent)
            suffix = "" if totals[tag] == 1 else f"[{positions[element]}]"
            path = f"{self.xpath_of(parent)}/{tag}{suffix}"
        self._paths[element] = path
        return path

    @lazy
    def _paths(self) -> dict[etree._Element, str]:
        return {}

    @lazy
    def _siblings(self) -> dict[etree._Element, tuple[dict, dict]]:
        return {}

    def _sibling_positions(self, parent: etree._Element) -> tuple[dict, dict]:
        """For each child element: its 1-based position among same-tag siblings; and tag counts."""
        known = self._siblings.get(parent)
        if known is None:
            positions: dict[etree._Element, int] = {}
            totals: dict[str, int] = {}
            for child in parent:
                tag = child.tag
                if isinstance(tag, str):
                    totals[tag] = positions[child] = totals.get(tag, 0) + 1
            known = self._siblings[parent] = (positions, totals)
        return known

    # -- positions -------------------------------------------------------------------

    #: Positions looked up by scanning before a table of line starts pays off.
    _SCANNED_POSITIONS = 16

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a byte offset; columns count characters.

        The first few lookups scan the bytes (most documents have few
        findings); after that a table of line starts keeps each lookup O(log n).
        Columns in non-ASCII text count from checkpoints, so even a 10 MiB
        one-line file with many findings stays linear.
        """
        data = self.data
        self._position_lookups += 1
        if self._position_lookups <= self._SCANNED_POSITIONS:
            line = data.count(b"\n", 0, offset) + 1
            line_start = data.rfind(b"\n", 0, offset) + 1
        else:
            starts = self._line_starts
            line = bisect_right(starts, offset)
            line_start = starts[line - 1]
        if line == 1 and data.startswith(codecs.BOM_UTF8):
            line_start = len(codecs.BOM_UTF8)
        if self._is_ascii:
            return line, offset - line_start + 1
        return line, self._characters_before(offset) - self._characters_before(line_start) + 1

    @lazy
    def _is_ascii(self) -> bool:
        return self.data.isascii()

    @lazy
    def _character_marks(self) -> tuple[list[int], list[int]]:
        """Checkpoints (byte offset, characters before it) every few KiB.

        Decoding from the line start on every call is quadratic on a
        10 MiB one-line file with many findings; from the nearest checkpoint
        it is not.
        """
        decoder = codecs.getincrementaldecoder(self.encoding)("replace")
        offsets, counts = [0], [0]
        characters = 0
        for block_start in range(0, len(self.data), _MARK_EVERY):
            block_end = block_start + _MARK_EVERY
            characters += len(decoder.decode(self.data[block_start:block_end]))
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the block end
            offsets.append(min(block_end, len(self.data)) - pending)
            counts.append(characters)
        return offsets, counts

    def _characters_before(self, offset: int) -> int:
        offsets, counts = self._character_marks
        index = bisect_right(offsets, offset) - 1
        mark = offsets[index]
        return counts[index] + len(self.data[mark:offset].decode(self.encoding, "replace"))

    @lazy
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.data.find
        newline = find(b"\n")
        while newline != -1:
            starts.append(newline + 1)
            newline = find(b"\n", newline + 1)
        return starts

    def line_bounds(self, offset: int) -> tuple[int, int]:
        """Start of the line holding ``offset`` and the offset just past its newline."""
        start = self.data.rfind(b"\n", 0, offset) + 1
        end = self.data.find(b"\n", offset)
        return start, (len(self.data) if end == -1 else end + 1)

    def indentation_at(self, offset: int) -> str | None:
        """Whitespace before ``offset`` on its line, or None if other text precedes it."""
        start = self.data.rfind(b"\n", 0, offset) + 1
        prefix = self.data[start:offset]
        if prefix.strip(b" \t"):
            return None
        return prefix.decode("ascii")

    # -- style -----------------------------------------------------------------------

    @lazy
    def style(self) -> Style:
        data = self.data
        singles, doubles = data.count(b"='"), data.count(b'="')
        if not singles and not doubles:  # only `= '...'` forms: count those
            singles = len(re.findall(rb"=\s*'", data))
            doubles = len(re.findall(rb'=\s*"', data))
        quote = '"' if doubles > singles else "'"
        newline = "\r\n" if b"\r\n" in data else "\n"
        return Style(quote=quote, indent=_indent_unit(data), newline=newline)

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding, "xmlcharrefreplace")


def _indent_unit(data: bytes) -> str:
    indents = _LEADING_WS.findall(data)
    if not indents:
        return "  "
    if any(ws.startswith(b"\t") for ws in indents):
        return "\t"
    widths = sorted({len(ws) for ws in indents})
    smallest = widths[0]
    steps = [b - a for a, b in zip([0, *widths], widths, strict=False) if b > a]
    unit = min([smallest, *steps])
    return " " * max(1, unit)


_BOMS_REFUSED = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


_DECLARED_WIDE = re.compile(
    rb"(?:\xef\xbb\xbf)?<\?xml[^>]{0,200}?encoding\s*=\s*[\"'](utf-?(?:16|32)[^\"']{0,8})", re.I
)


def _reject_unsupported_encoding(data: bytes, path: str) -> None:
    if data.startswith(_BOMS_REFUSED) or data[:4] in (
        b"<\x00?\x00",
        b"\x00<\x00?",
        b"<\x00\x00\x00",
        b"\x00\x00\x00<",
    ):
        wide = (
            "UTF-32"
            if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))
            or (data[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"))
            else "UTF-16"
        )
        raise InputError(
            path,
            f"{wide} encoded XML is not supported: libvirt reads domain XML as UTF-8",
            hint=f"convert it, e.g. `iconv -f {wide} -t UTF-8 {path}`",
            line=1,
            column=1,
        )
    declared = _DECLARED_WIDE.match(data)
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        raise InputError(
            path,
            f"declares encoding '{name}' but is not {name} encoded",
            hint="change the declaration to encoding='UTF-8', as libvirt writes it",
            line=1,
        )
    nul = data.find(b"\x00")
    if nul != -1:
        line = data.count(b"\n", 0, nul) + 1
        raise InputError(
            path,
            "binary data (a NUL byte) where XML text was expected",
            hint="pass only XML text files",
            line=line,
        )


def _reject_doctype(data: bytes, path: str) -> None:
    import xml.parsers.expat  # rare paths only: not on every start-up

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[int] = []

    def on_doctype(*_args: object) -> None:
        found.append(parser.CurrentByteIndex)
        raise _RootFound

    def on_start(*_args: object) -> None:
        raise _RootFound

    parser.StartDoctypeDeclHandler = on_doctype
    parser.StartElementHandler = on_start
    try:
        parser.Parse(data, True)
    except (_RootFound, xml.parsers.expat.ExpatError, ValueError):
        pass
    if not found:
        return  # the text "<!DOCTYPE" sits in a comment, CDATA or attribute
    offset = data.rfind(b"<!DOCTYPE", 0, found[0] + 1)
    offset = offset if offset != -1 else found[0]
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    raise HostileInputError(
        path,
        "DOCTYPE declarations are not allowed (they can define entities that read files or "
        "expand without bound, and libvirt never writes one)",
        hint="remove the <!DOCTYPE ...> declaration; nothing was read or changed",
        line=line,
        column=column,
    )


def _reject_xinclude(root: etree._Element, path: str) -> None:
    for element in root.iter(f"{{{XINCLUDE_NS}}}*", f"{{{XINCLUDE_NS_2003}}}*"):
        raise HostileInputError(
            path,
            "XInclude elements are not allowed (libvirt does not process them)",
            hint="inline the included content; nothing was read or changed",
            line=element.sourceline,
        )


def _python_codec(declared: str | None, path: str) -> str:
    name = declared or "utf-8"
    codec = _supported_codec(name)
    if codec is None:
        # the source map's byte scan reads only UTF-8 and ASCII-compatible single-byte encodings
        raise InputError(
            path,
            f"encoding {name!r} is not supported: domxml-lint reads UTF-8, as libvirt writes "
            "it, and single-byte encodings such as ISO-8859-1",
            hint=f"convert it, e.g. `iconv -f {name} -t UTF-8 {path}`",
            line=1,
        )
    return codec


@functools.cache
def _supported_codec(name: str) -> str | None:
    """Python's name for a declared encoding the source map can read, else None."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:  # lxml accepted it, Python does not know it
        return None
    return codec if _byte_mappable(codec) else None


@functools.cache
def _byte_mappable(codec: str) -> bool:
    """UTF-8, or a stateless encoding with one character per byte and ASCII as ASCII."""
    if codec in ("utf-8", "ascii"):
        return True
    if codec.startswith(("iso2022", "utf-7", "hz")):
        return False  # escape sequences switch character sets
    try:
        text = bytes(range(256)).decode(codec, "replace")
    except (UnicodeError, LookupError, TypeError):
        return False
    return len(text) == 256 and text[:128] == bytes(range(128)).decode("ascii")


def _syntax_error(exc: etree.XMLSyntaxError, path: str) -> InputError:
    line, column = exc.position if exc.position else (None, None)
    # One line, without libxml2's advice to switch its limits off.
    message = " ".join(_strip_position(exc.msg or "").split())
    if "XML_PARSE_HUGE" in message:
        message = re.sub(r",?\s*(?:use|try) XML_PARSE_HUGE(?: option)?", "", message).strip()
        return InputError(
            path,
            f"exceeds a parser limit: {message} (nesting deeper than {MAX_DEPTH} elements or "
            "text over 10,000,000 bytes)",
            hint="domain XML never needs this; nothing was changed",
            line=line,
            column=column,
        )
    if "encoding" in message.lower() or "labelled" in message:
        return InputError(
            path,
            f"not well-formed XML: {message}",
            hint="save the file as UTF-8, as libvirt writes it, and declare UTF-8 or no "
            "encoding; nothing was changed",
            line=line,
            column=column,
        )
    return InputError(
        path,
        f"not well-formed XML: {message}",
        hint="fix the XML syntax; nothing was changed",
        line=line,
        column=column,
    )


def _start_tags_at_most(data: bytes) -> int:
    """An upper bound on the start tags: every ``<`` but those of end tags, comments, CDATA,
    declarations and processing instructions (four scans in C, no parse). Counting every
    ``<`` sent a 20,000-device domain, with its end tags, to an exact count by expat."""
    return data.count(b"<") - data.count(b"</") - data.count(b"<!") - data.count(b"<?")


class _LimitReached(Exception):
    pass


def _reject_too_many_elements(data: bytes, path: str) -> None:
    """Refuse a file with more than MAX_ELEMENTS elements, naming the line of the first one over.

    expat counts without building a tree and stops at the limit, so memory stays flat.
    """
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    count = 0

    def on_start(_name: str, _attrs: object) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise _LimitReached

    parser.StartElementHandler = on_start
    try:
        parser.Parse(data, True)
    except _LimitReached:
        raise InputError(
            path,
            f"more than {MAX_ELEMENTS:,} elements, the most domxml-lint reads",
            hint="a domain definition is far smaller; check that this is the right file",
            line=parser.CurrentLineNumber,
        ) from None
    except (xml.parsers.expat.ExpatError, ValueError):
        pass  # not well-formed: lxml reports it with its own message


def _strip_position(message: str) -> str:
    return re.sub(r", line \d+, column \d+$", "", message)
