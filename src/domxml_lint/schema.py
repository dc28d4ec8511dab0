"""libvirt's RelaxNG domain schema: where to find it, validation, and readable diagnostics.

libxml2 decides whether a document is valid (the same verdict as
``virt-xml-validate`` and ``virsh define --validate``). Its messages are poor:
inside an ``<interleave>`` it names only the top-level child ("Extra element
devices in interleave"). So for an invalid document a second pass walks the
document against the grammar itself, read from the same ``.rng`` files, and
says which element or attribute is wrong and what the schema accepts there.

The grammar is read lazily: each element pattern's content is summarised the
first time a document element is matched against it. A summary is a short list
of *variants*, one per branch of the ``<choice>``s in that content (choices
collapse into one merged variant past :data:`MAX_VARIANTS`), each listing the
attributes and child elements that branch allows and which of them it requires.
Every approximation errs towards "allowed", so the walk never blames a valid
document; the tests check that on every schema-valid file of libvirt's corpus.

Nothing here runs a process: the schema directory is found from settings,
standard prefixes and ``libvirt.pc`` files read as text.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from lxml import etree

from ._records import NamedTuple

#: Environment variable naming the schema directory (for CI, tests, or a libvirt
#: installed under another prefix); it overrides the ``schema-dir`` setting.
SCHEMA_DIR_ENV = "DOMXML_LINT_SCHEMA_DIR"

#: Where libvirt installs its schemas (``${datadir}/libvirt/schemas``). Debian and
#: Ubuntu: package ``libvirt0`` (pulled in by ``libvirt-clients`` and the daemons);
#: Fedora/RHEL: ``libvirt-libs``.
STANDARD_DIRS = ("/usr/share/libvirt/schemas", "/usr/local/share/libvirt/schemas")

SCHEMA_FILE = "domain.rng"

#: Most variants kept per pattern before choices are merged into one.
MAX_VARIANTS = 64

RNG_NS = "http://relaxng.org/ns/structure/1.0"
_RNG = "{" + RNG_NS + "}"
_NAME_CLASSES = frozenset(_RNG + n for n in ("name", "anyName", "nsName", "choice"))

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


class SchemaError(Exception):
    """The schema files exist but cannot be read or compiled."""


# -- finding the schema ---------------------------------------------------------------


class SchemaLocation(NamedTuple):
    """Where the schema was looked for and found (``directory`` None: nowhere)."""

    directory: str | None
    #: How it was chosen: "DOMXML_LINT_SCHEMA_DIR", "schema-dir", a standard
    #: directory, or a libvirt.pc file.
    origin: str
    searched: tuple[str, ...]
    #: The directory was named explicitly (environment or setting): a missing
    #: ``domain.rng`` there is the user's mistake, not a reason to keep looking.
    explicit: bool = False


def locate_schema(
    configured: str | None = None, env: dict[str, str] | None = None
) -> SchemaLocation:
    """Find libvirt's ``domain.rng``.

    Order: ``$DOMXML_LINT_SCHEMA_DIR``; the ``schema-dir`` setting; the
    standard directories; ``${datarootdir}/libvirt/schemas`` of a ``libvirt.pc``
    found on ``$PKG_CONFIG_PATH`` (read as text: ``pkg-config`` itself is never
    run, so a run costs a few ``stat`` calls whatever is installed).
    """
    environ = os.environ if env is None else env
    from_env = environ.get(SCHEMA_DIR_ENV)
    if from_env:
        return _explicit(from_env, SCHEMA_DIR_ENV)
    if configured:
        return _explicit(configured, "schema-dir")
    searched: list[str] = []
    for directory in (*STANDARD_DIRS, *_pkg_config_dirs(environ)):
        if directory in searched:
            continue
        searched.append(directory)
        if os.path.isfile(os.path.join(directory, SCHEMA_FILE)):
            return SchemaLocation(directory, directory, tuple(searched))
    return SchemaLocation(None, "", tuple(searched))


def find_schema(configured: str | None) -> SchemaLocation:
    """:func:`locate_schema` in this process's environment, looked up once per setting.

    A pure function of the setting and the two environment variables it reads,
    so the memo never answers for another environment.
    """
    return _find(configured, os.environ.get(SCHEMA_DIR_ENV), os.environ.get("PKG_CONFIG_PATH"))


@functools.lru_cache(maxsize=16)
def _find(configured: str | None, env_dir: str | None, pkg_path: str | None) -> SchemaLocation:
    environ = {k: v for k, v in ((SCHEMA_DIR_ENV, env_dir), ("PKG_CONFIG_PATH", pkg_path)) if v}
    return locate_schema(configured, environ)


def _explicit(directory: str, origin: str) -> SchemaLocation:
    directory = os.path.abspath(os.path.expanduser(directory))
    found = os.path.isfile(os.path.join(directory, SCHEMA_FILE))
    return SchemaLocation(directory if found else None, origin, (directory,), explicit=True)


def _pkg_config_dirs(environ) -> Iterator[str]:
    """Schema directories named by ``libvirt.pc`` files on ``$PKG_CONFIG_PATH``."""
    for pc_dir in environ.get("PKG_CONFIG_PATH", "").split(os.pathsep):
        if not pc_dir:
            continue
        try:
            with open(os.path.join(pc_dir, "libvirt.pc"), encoding="utf-8") as handle:
                text = handle.read(65536)
        except (OSError, UnicodeDecodeError):
            continue
        datarootdir = _pc_variable(text, "datarootdir")
        if datarootdir:
            yield os.path.join(datarootdir, "libvirt", "schemas")


def _pc_variable(text: str, name: str) -> str | None:
    """A variable of a .pc file, with ``${other}`` references expanded."""
    variables: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.]+)\s*=\s*(.*?)\s*$", line)
        if match:
            value = re.sub(
                r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1), ""), match.group(2)
            )
            variables[match.group(1)] = value
    return variables.get(name)


# -- loading and validating -------------------------------------------------------------


class Problem(NamedTuple):
    """One way a document breaks the schema, at an element (and maybe one attribute).

    ``kind`` is ``"unknown"`` for an element or attribute the schema does not know
    (libvirt's parser skips those), else ``"invalid"``.
    """

    element: etree._Element
    attribute: str | None
    message: str
    kind: str = "invalid"


_LOADED: dict[str, Schema] = {}


def load_schema(directory: str) -> Schema:
    """The schema in ``directory``, compiled once per process."""
    schema = _LOADED.get(directory)
    if schema is None:
        schema = _LOADED[directory] = Schema(directory)
    return schema


class Schema:
    """libvirt's domain schema in one directory: libxml2's validator plus the grammar."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, SCHEMA_FILE)
        try:
            self.relaxng = etree.RelaxNG(etree.parse(self.path, _PARSER))
        except (OSError, etree.XMLSyntaxError, etree.RelaxNGParseError) as exc:
            raise SchemaError(f"cannot load {self.path}: {_one_line(str(exc))}") from None
        self._grammar: Grammar | None = None

    @property
    def grammar(self) -> Grammar:
        if self._grammar is None:
            self._grammar = Grammar(self.path)
        return self._grammar

    def is_valid(self, root: etree._Element) -> bool:
        return bool(self.relaxng.validate(root.getroottree()))

    def problems(self, root: etree._Element, limit: int | None = None) -> list[Problem]:
        """What is wrong with ``root`` (empty when libxml2 finds it valid).

        ``limit``: stop after that many distinct problems, in document order.
        """
        if self.is_valid(root):
            return []
        found = list(itertools.islice(_unique(Walker(self.grammar).walk(root)), limit))
        if found:
            return found
        # The walk could not say what is wrong (elements out of order in a sequence, say):
        # report libxml2's words at the elements it names.
        return [
            Problem(
                element,
                None,
                f"<{_tag(element)}> does not match libvirt's schema "
                f"(libxml2: {'; '.join(dict.fromkeys(messages))})",
            )
            for element, messages in self._libxml2_errors(root)
        ]

    def _libxml2_errors(self, root: etree._Element) -> list[tuple[etree._Element, list[str]]]:
        """libxml2's errors grouped by the element they name (path-less ones join the next)."""
        grouped: dict[int, tuple[etree._Element, list[str]]] = {}
        pending: list[str] = []
        tree = root.getroottree()
        for entry in self.relaxng.error_log:
            message = _one_line(entry.message or "")
            element = None
            if entry.path:
                try:
                    found = tree.xpath(entry.path)
                except etree.XPathError:
                    found = []
                hits = found if isinstance(found, list) else []
                element = hits[0] if hits and isinstance(hits[0], etree._Element) else None
            if element is None:
                pending.append(message)
                continue
            slot = grouped.setdefault(id(element), (element, []))
            slot[1].extend([*pending, message])
            pending = []
        if pending:
            slot = grouped.setdefault(id(root), (root, []))
            slot[1].extend(pending)
        return list(grouped.values())


def _unique(problems: Iterable[Problem]) -> Iterator[Problem]:
    seen: set[Problem] = set()
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            yield problem


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tag(element: etree._Element) -> str:
    """The element's name as written (prefix kept for namespaced ones)."""
    qname = etree.QName(element)
    return f"{element.prefix}:{qname.localname}" if element.prefix else qname.localname


# -- the grammar --------------------------------------------------------------------------


class Variant(NamedTuple):
    """What one branch of an element's content allows.

    ``attributes`` map names (``{ns}name`` when namespaced) to value patterns,
    where None accepts any text; ``children`` map element names to the element
    patterns that may match them.
    """

    attributes: dict[str, tuple[etree._Element | None, ...]]
    children: dict[str, tuple[etree._Element, ...]]
    any_attribute: bool
    any_children: tuple[etree._Element, ...]
    text: tuple[etree._Element, ...]
    free_text: bool
    required_attributes: frozenset[str]
    required_children: frozenset[str]
    repeatable: frozenset[str]

    def takes_attribute(self, name: str) -> bool:
        return self.any_attribute or name in self.attributes

    def takes_child(self, name: str) -> bool:
        return bool(self.any_children) or name in self.children


EMPTY = Variant({}, {}, False, (), (), False, frozenset(), frozenset(), frozenset())


def _both(a: Variant, b: Variant) -> Variant:
    """Content that has both parts (group, interleave)."""
    if a is EMPTY:
        return b
    if b is EMPTY:
        return a
    twice = a.children.keys() & b.children.keys()
    return Variant(
        _union(a.attributes, b.attributes),
        _union(a.children, b.children),
        a.any_attribute or b.any_attribute,
        a.any_children + b.any_children,
        a.text + b.text,
        a.free_text or b.free_text,
        a.required_attributes | b.required_attributes,
        a.required_children | b.required_children,
        a.repeatable | b.repeatable | twice,
    )


def _either(variants: Sequence[Variant]) -> Variant:
    """One variant that allows what any of ``variants`` allows (a merged choice)."""
    first, *rest = variants
    merged = first
    for other in rest:
        merged = Variant(
            _union(merged.attributes, other.attributes),
            _union(merged.children, other.children),
            merged.any_attribute or other.any_attribute,
            merged.any_children + other.any_children,
            merged.text + other.text,
            merged.free_text or other.free_text,
            merged.required_attributes & other.required_attributes,
            merged.required_children & other.required_children,
            merged.repeatable | other.repeatable,
        )
    return merged


def _optional(variant: Variant) -> Variant:
    if not variant.required_attributes and not variant.required_children:
        return variant
    return variant._replace(required_attributes=frozenset(), required_children=frozenset())


def _repeated(variant: Variant) -> Variant:
    return variant._replace(repeatable=variant.repeatable | frozenset(variant.children))


def _union(a: dict, b: dict) -> dict:
    if not a:
        return b
    if not b:
        return a
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged[key] + value if key in merged else value
    return merged


def _local(node: etree._Element) -> str:
    tag = node.tag
    return tag[len(_RNG) :] if isinstance(tag, str) and tag.startswith(_RNG) else ""


class Grammar:
    """libvirt's domain grammar, read from the ``.rng`` files with its includes resolved."""

    def __init__(self, path: str) -> None:
        self.defines: dict[str, list[etree._Element]] = {}
        self.starts: list[etree._Element] = []
        self._roots: list[etree._Element] = []
        self._element_names: set[str | None] | None = None
        self._attribute_names: set[str | None] | None = None
        self._variants: dict[etree._Element, list[Variant]] = {}
        self._define_variants: dict[str, list[Variant]] = {}
        self._matchers: dict[etree._Element, Callable[[str], bool]] = {}
        self._load(path, frozenset(), False, set())

    # reading

    def _load(self, path: str, overridden: frozenset[str], skip_start: bool, seen: set) -> None:
        path = os.path.abspath(path)
        if path in seen:
            return
        seen.add(path)
        try:
            root = etree.parse(path, _PARSER).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise SchemaError(f"cannot read {path}: {_one_line(str(exc))}") from None
        self._roots.append(root)
        self._read_grammar(root, os.path.dirname(path), overridden, skip_start, seen)

    def _read_grammar(self, node, base, overridden, skip_start, seen) -> None:
        for child in node:
            kind = _local(child)
            if kind == "define":
                if child.get("name") not in overridden:
                    self.defines.setdefault(child.get("name"), []).append(child)
            elif kind == "start":
                if not skip_start:
                    self.starts.append(child)
            elif kind == "div":
                self._read_grammar(child, base, overridden, skip_start, seen)
            elif kind == "include":
                inner = {d.get("name") for d in child.iter(_RNG + "define")}
                has_start = any(_local(c) == "start" for c in child.iter(_RNG + "start"))
                self._load(
                    os.path.join(base, child.get("href", "")),
                    overridden | inner,
                    skip_start or has_start,
                    seen,
                )
                self._read_grammar(child, base, overridden, skip_start, seen)

    def known_name(self, name: str, *, attribute: bool) -> bool:
        """Whether any element (or attribute) pattern of the grammar has this name."""
        names = self._attribute_names if attribute else self._element_names
        if names is None:
            names = {
                _pattern_name(node, inherit_ns=not attribute)
                for root in self._roots
                for node in root.iter(_RNG + ("attribute" if attribute else "element"))
            }
            if attribute:
                self._attribute_names = names
            else:
                self._element_names = names
        return name in names

    # content summaries

    def start_variants(self) -> list[Variant]:
        return self._sequence(self.starts)

    def element_variants(self, pattern: etree._Element) -> list[Variant]:
        """The variants of an ``<element>`` pattern's content, computed once."""
        known = self._variants.get(pattern)
        if known is None:
            content = [c for c in pattern if not _is_name_class(c, pattern)]
            known = self._variants[pattern] = self._sequence(content)
        return known

    def _sequence(self, nodes: Iterable[etree._Element]) -> list[Variant]:
        result = [EMPTY]
        for node in nodes:
            result = _product(result, self._pattern(node))
        return result

    def _pattern(self, node: etree._Element) -> list[Variant]:
        kind = _local(node)
        if kind == "element":
            name = _pattern_name(node, inherit_ns=True)
            if name is None:
                return [EMPTY._replace(any_children=(node,))]
            return [EMPTY._replace(children={name: (node,)}, required_children=frozenset((name,)))]
        if kind == "attribute":
            name = _pattern_name(node, inherit_ns=False)
            if name is None:
                return [EMPTY._replace(any_attribute=True)]
            content = [c for c in node if not _is_name_class(c, node)]
            values: tuple[etree._Element | None, ...] = (
                (content[0],) if len(content) == 1 else (None,)
            )
            return [
                EMPTY._replace(attributes={name: values}, required_attributes=frozenset((name,)))
            ]
        if kind in ("group", "interleave", "start"):
            return self._sequence(node)
        if kind == "mixed":
            return [v._replace(free_text=True) for v in self._sequence(node)]
        if kind == "choice":
            branches: list[Variant] = []
            for child in node:
                branches.extend(self._pattern(child))
            return _limit(branches)
        if kind == "optional":
            inner = self._sequence(node)
            # Parts that must come together (an optional group of two required elements,
            # say) or text that may be left out: keep "absent" as a variant of its own.
            if any(
                v.text or len(v.required_attributes) + len(v.required_children) > 1 for v in inner
            ):
                return _limit([*inner, EMPTY])
            return [_optional(v) for v in inner]
        # Each repetition may take another branch of a choice: merge them.
        if kind == "zeroOrMore":
            return _merged(self._sequence(node), optional=True)
        if kind == "oneOrMore":
            return _merged(self._sequence(node), optional=False)
        if kind == "ref":
            return self._define(node.get("name", ""))
        if kind == "text":
            return [EMPTY._replace(free_text=True)]
        if kind in ("data", "value", "list"):
            return [EMPTY._replace(text=(node,))]
        if kind == "notAllowed":
            return []
        # empty; and parentRef/externalRef, which libvirt's domain grammar does not use:
        # allowing nothing extra would blame valid documents, so allow anything.
        if kind in ("parentRef", "externalRef", "grammar"):
            return [EMPTY._replace(any_attribute=True, free_text=True, any_children=(node,))]
        return [EMPTY]

    def _define(self, name: str) -> list[Variant]:
        known = self._define_variants.get(name)
        if known is not None:
            return known
        self._define_variants[name] = [EMPTY]  # a cycle without an element cannot happen
        definitions = self.defines.get(name, [])
        if any(d.get("combine") == "interleave" for d in definitions):
            result = [EMPTY]
            for definition in definitions:
                result = _product(result, self._sequence(definition))
        else:
            result = []
            for definition in definitions:
                result.extend(self._sequence(definition))
            result = _limit(result)
        self._define_variants[name] = result
        return result

    # values

    def value_ok(self, value: str, pattern: etree._Element | None) -> bool:
        """Whether ``value`` (an attribute value or an element's text) matches ``pattern``."""
        if pattern is None:
            return True
        matcher = self._matchers.get(pattern)
        if matcher is None:
            matcher = self._matchers[pattern] = self._matcher(pattern)
        return matcher(value)

    def _matcher(self, pattern: etree._Element) -> Callable[[str], bool]:
        """A test for values of one pattern, built once: a set lookup for enumerations."""
        tokens: set[str] = set()
        strings: set[str] = set()
        others: list[Callable[[str], bool]] = []
        self._gather(pattern, tokens, strings, others, 0)
        if not tokens and not strings and len(others) == 1:
            return others[0]

        def matches(value: str) -> bool:
            return (
                (bool(tokens) and " ".join(value.split()) in tokens)
                or value in strings
                or any(test(value) for test in others)
            )

        return matches

    def _gather(self, pattern, tokens: set, strings: set, others: list, depth: int) -> None:
        kind = _local(pattern)
        if depth > 50:  # the grammar has no such depth; never judge past it
            others.append(_accept_any)
        elif kind == "value":
            if pattern.get("type", "token") == "string":
                strings.add(pattern.text or "")
            else:
                tokens.add(" ".join((pattern.text or "").split()))
        elif kind == "choice":
            for child in pattern:
                self._gather(child, tokens, strings, others, depth + 1)
        elif kind in ("ref", "group"):
            bodies = (
                [list(d) for d in self.defines.get(pattern.get("name", ""), [])]
                if kind == "ref"
                else [list(pattern)]
            )
            for body in bodies:
                if len(body) == 1:
                    self._gather(body[0], tokens, strings, others, depth + 1)
                else:  # a sequence inside a value: do not judge
                    others.append(_accept_any)
        elif kind == "data":
            others.append(self._data_matcher(pattern))
        elif kind == "empty":
            strings.add("")
        elif kind != "notAllowed":
            others.append(_accept_any)  # text, list and anything unusual: do not judge

    def _data_matcher(self, data: etree._Element) -> Callable[[str], bool]:
        kind = data.get("type", "string")
        collapse = kind not in ("string", "normalizedString")
        facets = [
            (child.get("name", ""), child.text or "") for child in data if _local(child) == "param"
        ]
        excluded = [c for child in data if _local(child) == "except" for c in child]

        def matches(value: str) -> bool:
            if collapse:
                value = " ".join(value.split())
            if not _type_ok(kind, value):
                return False
            if not all(_facet_ok(kind, value, facet, limit) for facet, limit in facets):
                return False
            return not any(self.value_ok(value, c) for c in excluded)

        return matches

    def describe(self, patterns: Iterable[etree._Element | None]) -> tuple[list[str], list[str]]:
        """The enumerated values and the other kinds of value ``patterns`` accept."""
        values: dict[str, None] = {}
        kinds: dict[str, None] = {}
        self._describe(patterns, values, kinds, 0)
        return list(values), list(kinds)

    def _describe(self, patterns, values: dict, kinds: dict, depth: int) -> None:
        for pattern in patterns:
            if pattern is None:
                kinds["any text"] = None
                continue
            kind = _local(pattern)
            if kind == "value":
                values[
                    (pattern.text or "").strip()
                    if pattern.get("type") != "string"
                    else (pattern.text or "")
                ] = None
            elif kind == "data":
                kinds[_describe_data(pattern)] = None
            elif kind in ("choice", "group") and depth < 20:
                self._describe(list(pattern), values, kinds, depth + 1)
            elif kind == "ref" and depth < 20:
                for definition in self.defines.get(pattern.get("name", ""), []):
                    self._describe(list(definition), values, kinds, depth + 1)
            elif kind == "text":
                kinds["any text"] = None
            elif kind == "empty":
                values[""] = None


def _accept_any(_value: str) -> bool:
    return True


def _is_name_class(node: etree._Element, owner: etree._Element) -> bool:
    """Whether ``node`` is the name class of ``owner`` (an element or attribute pattern)."""
    if owner.get("name") is not None:
        return False
    # Without a name attribute the first child is the name class.
    return node is owner[0] and node.tag in _NAME_CLASSES


def _pattern_name(node: etree._Element, *, inherit_ns: bool) -> str | None:
    """``name`` or ``{ns}name`` for an element/attribute pattern; None for a wildcard."""
    name = node.get("name")
    if name is None:
        first = node[0] if len(node) else None
        if first is not None and _local(first) == "name":
            name = (first.text or "").strip()
        else:
            return None  # anyName, nsName or a choice of names: a wildcard here
    if ":" in name:
        prefix, _, local = name.partition(":")
        prefixed = node.nsmap.get(prefix) or ""
        return f"{{{prefixed}}}{local}" if prefixed else local
    namespace = node.get("ns")
    if namespace is None and inherit_ns:
        for ancestor in node.iterancestors():
            namespace = ancestor.get("ns")
            if namespace is not None:
                break
    return f"{{{namespace}}}{name}" if namespace else name


def _signature(variant: Variant) -> tuple:
    """What tells variants apart for matching: their names, requirements and fixed values."""
    fixed = frozenset(
        (name, tuple(p.text for p in patterns if p is not None))
        for name, patterns in variant.attributes.items()
        if all(p is not None and _local(p) == "value" for p in patterns)
    )
    return (
        frozenset(variant.attributes),
        frozenset(variant.children),
        variant.required_attributes,
        variant.required_children,
        variant.any_attribute,
        bool(variant.any_children),
        variant.free_text,
        fixed,
    )


def _limit(variants: list[Variant]) -> list[Variant]:
    """At most MAX_VARIANTS: first merge variants alike but for free values, then all."""
    if len(variants) <= MAX_VARIANTS:
        return variants
    groups: dict[tuple, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(_signature(variant), []).append(variant)
    merged = [_either(group) for group in groups.values()]
    return merged if len(merged) <= MAX_VARIANTS else [_either(merged)]


def _merged(variants: list[Variant], *, optional: bool) -> list[Variant]:
    if not variants:
        return [EMPTY] if optional else []
    merged = _repeated(_either(variants))
    return [_optional(merged) if optional else merged]


def _product(left: list[Variant], right: list[Variant]) -> list[Variant]:
    if not left or not right:
        return []  # notAllowed on either side
    combined = (
        [_both(a, b) for a in left for b in right]
        if len(left) * len(right) <= 4 * MAX_VARIANTS
        else None
    )
    if combined is not None and len(combined) <= MAX_VARIANTS:
        return combined
    if combined is not None:
        limited = _limit(combined)
        if len(limited) > 1:
            return limited
    # Too many combinations: keep the side with more variants apart, merge the other.
    if len(left) >= len(right):
        return _limit([_both(a, _either(right)) for a in left])
    return _limit([_both(_either(left), b) for b in right])


# -- XML Schema datatypes (the subset libvirt's grammars use) ---------------------------

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN")
_DATETIME = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_NCNAME = re.compile(r"[^\W\d][\w.\-]*")
_INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 255),
}
_INTEGER_WORDS = {
    "nonNegativeInteger": "non-negative integer value",
    "unsignedLong": "non-negative integer value",
    "unsignedInt": "non-negative integer value",
    "unsignedShort": "non-negative integer value",
    "unsignedByte": "non-negative integer value",
    "positiveInteger": "positive integer value",
    "negativeInteger": "negative integer value",
    "nonPositiveInteger": "integer value <= 0",
}


#: Values longer than this are not judged here (Python's regex engine needs memory in
#: proportion to the repetitions it matches); libxml2's verdict and message stand for them.
MAX_JUDGED_LENGTH = 4096


def _type_ok(kind: str, value: str) -> bool:
    if kind in _INTEGER_RANGES:
        if not _INTEGER.fullmatch(value):
            return False
        low, high = _INTEGER_RANGES[kind]
        digits = value.lstrip("+-").lstrip("0")
        if len(digits) > 40:  # past every bounded type; int() would refuse 4300+ digits
            return low is None if value.startswith("-") else high is None
        number = int(value)
        return (low is None or number >= low) and (high is None or number <= high)
    if kind in ("double", "float"):
        return bool(_DOUBLE.fullmatch(value))
    if kind == "decimal":
        return bool(_DECIMAL.fullmatch(value))
    if kind == "boolean":
        return value in ("true", "false", "1", "0")
    if kind == "dateTime":
        return bool(_DATETIME.fullmatch(value))
    if kind in ("NCName", "ID", "IDREF"):
        return bool(_NCNAME.fullmatch(value)) and ":" not in value
    return True  # string, token, anyURI and types libvirt does not use


def _facet_ok(kind: str, value: str, facet: str, limit: str) -> bool:
    if facet == "pattern":
        regex = _xsd_regex(limit)
        return regex is None or len(value) > MAX_JUDGED_LENGTH or bool(regex.fullmatch(value))
    if facet in ("length", "minLength", "maxLength"):
        try:
            size = int(limit)
        except ValueError:
            return True
        return {
            "length": len(value) == size,
            "minLength": len(value) >= size,
            "maxLength": len(value) <= size,
        }[facet]
    if facet in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
        try:
            number, bound = float(value), float(limit)
        except (ValueError, OverflowError):
            return True
        return {
            "minInclusive": number >= bound,
            "maxInclusive": number <= bound,
            "minExclusive": number > bound,
            "maxExclusive": number < bound,
        }[facet]
    return True


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _xsd_regex(pattern: str) -> re.Pattern[str] | None:
    """An XML Schema pattern as a Python regex (None if Python cannot read it)."""
    if pattern not in _REGEX_CACHE:
        try:
            # XSD's '.' excludes \r as well as \n; the rest of libvirt's patterns read alike.
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error:
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


def _describe_data(data: etree._Element) -> str:
    kind = data.get("type", "string")
    params = {p.get("name"): (p.text or "") for p in data if _local(p) == "param"}
    if kind in _INTEGER_RANGES:
        words = _INTEGER_WORDS.get(kind, "integer value")
        low, high = params.get("minInclusive"), params.get("maxInclusive")
        if low is not None and high is not None:
            return f"integer value from {low} to {high}"
        if low is not None:
            return f"{words} >= {low}"
        if high is not None:
            return f"{words} <= {high}"
        return words
    if kind in ("double", "float", "decimal"):
        return "number"
    if kind == "dateTime":
        return "date and time (YYYY-MM-DDThh:mm:ss)"
    if kind == "boolean":
        return "true or false"
    if "pattern" in params:
        return f"value matching {params['pattern']}"
    if "maxLength" in params:
        return f"text of at most {params['maxLength']} characters"
    return "any text"


# -- the walk -------------------------------------------------------------------------------


class Walker:
    """Matches a document against the grammar and reports what does not fit."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar

    def walk(self, root: etree._Element) -> Iterator[Problem]:
        candidates = _children_named(self.grammar.start_variants(), root.tag)
        if candidates:  # else not a <domain>: libxml2's message stands
            yield from self._element(root, candidates)

    def _element(
        self, element: etree._Element, patterns: Sequence[etree._Element]
    ) -> Iterator[Problem]:
        variants = [v for p in patterns for v in self.grammar.element_variants(p)]
        if not variants:
            return
        attributes = list(element.attrib.items())
        children = [c for c in element if isinstance(c.tag, str)]
        child_tags = [c.tag for c in children]
        text = "" if children else (element.text or "")

        problems = list(self._attribute_problems(element, variants, attributes, child_tags))
        # What is wrong on its own is reported on its own; the forms of the element are
        # then matched against the rest.
        blamed = {p.attribute for p in problems}
        attributes = [(a, x) for a, x in attributes if a not in blamed]
        child_tags = [t for t in child_tags if any(v.takes_child(t) for v in variants)]
        fitting = [v for v in variants if self._fits(v, attributes, child_tags, text)]
        if not fitting:
            fitting = variants
            if not problems:
                # Each part fits some form of the element, but no form takes them all.
                problems.extend(self._misfit(element, variants, attributes, child_tags))
        yield from problems
        yield from self._content_problems(element, fitting, children, text)
        for child in children:
            child_patterns = _children_named(fitting, child.tag)
            if child_patterns:
                yield from self._element(child, child_patterns)
            else:
                yield Problem(
                    child, None, self._unknown_element(child, element, fitting, variants), "unknown"
                )

    def _attribute_problems(self, element, variants, attributes, child_tags) -> Iterator[Problem]:
        """Attributes no form of the element knows, and values no form accepts."""
        name = _tag(element)
        for attribute, value in attributes:
            knowing = [v for v in variants if v.takes_attribute(attribute)]
            if not knowing:
                yield Problem(
                    element,
                    attribute,
                    self._unknown_attribute(element, attribute, variants),
                    "unknown",
                )
                continue
            if any(self._accepts(v, attribute, value) for v in knowing):
                continue
            # Describe what the forms that fit the other attributes accept.
            others = [(a, x) for a, x in attributes if a != attribute]
            context = [
                v for v in knowing if all(self._accepts(v, a, x) for a, x in others)
            ] or knowing
            accepted = [p for v in context for p in v.attributes.get(attribute, ())]
            yield Problem(
                element,
                attribute,
                f"Invalid value for attribute '{_attribute_name(element, attribute)}' in "
                f"element '{name}': '{_short(value)}'. "
                f"{_capitalised(self._expected(value, accepted))}",
            )

    def _content_problems(self, element, fitting, children, text) -> Iterator[Problem]:
        """Required attributes and elements that are missing, repeats, and bad text."""
        name = _tag(element)
        present = set(element.attrib.keys())
        required = frozenset.intersection(*(v.required_attributes for v in fitting))
        for missing in sorted(required - present):
            yield Problem(
                element,
                None,
                f"Missing required attribute '{_display_name(missing)}' in element '{name}'",
            )
        counts: dict[str, int] = {}
        for child in children:
            counts[child.tag] = counts.get(child.tag, 0) + 1
        required = frozenset.intersection(*(v.required_children for v in fitting))
        for missing in sorted(required - counts.keys()):
            yield Problem(
                element, None, f"Missing required element <{_display_name(missing)}> in <{name}>"
            )
        for tag, count in counts.items():
            if count > 1 and not any(
                tag in v.repeatable or (v.any_children and tag not in v.children) for v in fitting
            ):
                extra = [c for c in children if c.tag == tag][1]
                yield Problem(
                    extra,
                    None,
                    f"Element <{_tag(extra)}> appears {count} times in <{name}>; "
                    "libvirt's schema allows it once",
                )
        if children or any(self._text_ok(v, text) for v in fitting):
            return
        value = text.strip()
        accepted = [p for v in fitting for p in v.text]
        if accepted:
            yield Problem(
                element,
                None,
                f"Invalid value for element '{name}': '{_short(value)}'. "
                f"{_capitalised(self._expected(value, accepted))}",
            )
        else:
            yield Problem(element, None, f"Element <{name}> takes no text, found '{_short(value)}'")

    def _misfit(self, element, variants, attributes, child_tags) -> Iterator[Problem]:
        """The attribute (or child) that no form takes together with all the others."""
        name = _tag(element)
        for attribute, value in attributes:
            others = [(a, x) for a, x in attributes if a != attribute]
            if not self._some_fit(variants, others, child_tags):
                continue
            # Keep only the other attributes that rule the value out.
            # Later attributes go first, so discriminators such as type= stay as context.
            context = list(others)
            for pair in reversed(others):
                fewer = [item for item in context if item != pair]
                if not any(
                    self._accepts(v, attribute, value)
                    for v in self._fitting(variants, fewer, child_tags)
                ):
                    context = fewer
            shown = _attribute_name(element, attribute)
            together = ", ".join(f"{_attribute_name(element, a)}='{_short(x)}'" for a, x in context)
            accepted = [
                p
                for v in self._fitting(variants, context, child_tags)
                for p in v.attributes.get(attribute, ())
            ]
            where = f"with {together}" if together else "with these children"
            if accepted:
                yield Problem(
                    element,
                    attribute,
                    f"Invalid value for attribute '{shown}' in element '{name}': "
                    f"'{_short(value)}'. {_capitalised(where)}, {self._expected(value, accepted)}",
                )
            else:
                yield Problem(
                    element, attribute, f"Attribute '{shown}' is not allowed in <{name}> {where}"
                )
            return
        for tag in dict.fromkeys(child_tags):
            if self._some_fit(variants, attributes, [t for t in child_tags if t != tag]):
                child = next(c for c in element if c.tag == tag)
                together = ", ".join(
                    f"{_attribute_name(element, a)}='{_short(x)}'" for a, x in attributes
                )
                yield Problem(
                    child,
                    None,
                    f"Element <{_tag(child)}> is not allowed in <{name}>"
                    + (f" with {together}" if together else " here"),
                )
                return

    # helpers

    def _fits(self, variant: Variant, attributes, child_tags, text: str | None = None) -> bool:
        return (
            all(self._accepts(variant, a, x) for a, x in attributes)
            and all(variant.takes_child(t) for t in child_tags)
            and (text is None or self._text_ok(variant, text))
        )

    def _fitting(self, variants, attributes, child_tags) -> list[Variant]:
        return [v for v in variants if self._fits(v, attributes, child_tags)]

    def _some_fit(self, variants, attributes, child_tags) -> bool:
        return any(self._fits(v, attributes, child_tags) for v in variants)

    def _accepts(self, variant: Variant, attribute: str, value: str) -> bool:
        patterns = variant.attributes.get(attribute)
        if patterns is None:
            return variant.any_attribute
        return any(self.grammar.value_ok(value, p) for p in patterns)

    def _text_ok(self, variant: Variant, text: str) -> bool:
        if variant.free_text:
            return True
        if not variant.text:
            return not text.strip()
        return any(self.grammar.value_ok(text, p) for p in variant.text)

    def _expected(self, value: str, patterns: Sequence[etree._Element | None]) -> str:
        values, kinds = self.grammar.describe(patterns)
        shown = [v if v else "''" for v in values]
        if len(shown) > 30:
            shown = [*shown[:30], f"... ({len(values)} in all)"]
        if values and kinds:
            text = f"expected one of: {', '.join(shown)}; or {' or '.join(kinds)}"
        elif len(values) > 1:
            text = f"expected one of: {', '.join(shown)}"
        elif values:
            text = f"expected '{values[0]}'"
        elif kinds:
            text = f"expected {' or '.join(kinds)}"
        else:
            text = "libvirt's schema accepts no value here"
        near = _nearest(value, [v for v in values if v and v != value])
        return text + (f" (did you mean '{near}'?)" if near else "")

    def _unknown_attribute(self, element, attribute: str, variants: Sequence[Variant]) -> str:
        name = _tag(element)
        shown = _attribute_name(element, attribute)
        allowed = sorted({_display_name(a) for v in variants for a in v.attributes})
        near = _nearest(shown, allowed)
        if self.grammar.known_name(attribute, attribute=True) and not near:
            listed = f"allowed here: {_short_list(allowed)}" if allowed else "it takes none"
            return (
                f"Attribute '{shown}' is not allowed in element '{name}' here ({listed}){_IGNORED}"
            )
        if near:
            hint = f"; did you mean '{near}'?"
        elif allowed:
            hint = f" (allowed: {_short_list(allowed)})"
        else:
            hint = f" (<{name}> takes no attributes)"
        return f"Unknown attribute '{shown}' in element '{name}'{hint}{_IGNORED}"

    def _unknown_element(self, child, parent, fitting, variants) -> str:
        name, parent_name = _tag(child), _tag(parent)
        if any(child.tag in v.children for v in variants):
            allowed = sorted({_display_name(c) for v in fitting for c in v.children})
            return (
                f"Element <{name}> is not allowed in <{parent_name}> with these attributes "
                f"and children (allowed here: {_short_list(allowed)})"
            )
        allowed = sorted({_display_name(c) for v in variants for c in v.children})
        near = _nearest(_display_name(child.tag), allowed)
        if near and child.prefix:
            near = f"{child.prefix}:{near}"
        if self.grammar.known_name(child.tag, attribute=False) and not near:
            return (
                f"Element <{name}> is not allowed in <{parent_name}> (allowed there: "
                f"{_short_list(allowed)}){_IGNORED}"
            )
        hint = f"; did you mean <{near}>?" if near else ""
        return f"Unknown element <{name}> in <{parent_name}>{hint}{_IGNORED}"


#: Why an unknown name matters: libvirt reads only the names it knows (and a libvirt newer
#: than the schema may know more).
_IGNORED = (
    " (libvirt ignores it and `virsh define --validate` refuses the domain, "
    "unless libvirt is newer than this schema)"
)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _children_named(variants: Iterable[Variant], tag: str) -> list[etree._Element]:
    patterns: dict[etree._Element, None] = {}
    for variant in variants:
        for pattern in variant.children.get(tag, ()):
            patterns[pattern] = None
        if tag not in variant.children:
            for pattern in variant.any_children:
                patterns[pattern] = None
    return list(patterns)


def _display_name(name: str) -> str:
    return name.rpartition("}")[2]


def _attribute_name(element: etree._Element, attribute: str) -> str:
    if attribute.startswith("{"):
        namespace, _, local = attribute[1:].partition("}")
        for prefix, uri in element.nsmap.items():
            if uri == namespace and prefix:
                return f"{prefix}:{local}"
        return local
    return attribute


def _nearest(word: str, candidates: Sequence[str]) -> str | None:
    if not word or not candidates or len(word) > 100:
        return None
    folded = {c.lower(): c for c in candidates}
    if word.lower() in folded and folded[word.lower()] != word:
        return folded[word.lower()]
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def _short_list(names: Sequence[str], limit: int = 12) -> str:
    if not names:
        return "none"
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
