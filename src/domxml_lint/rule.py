"""Rules: metadata in one place, a check function, and the context it runs in.

A rule is a function decorated with :func:`rule`. Its docstring is its
documentation, in ruff's sections (What it does / Why is this bad? / Example /
Use instead / Fix safety / Source). The decorator returns a :class:`Rule`.

    @rule(code="DX401", name="disk-cache-unsafe", severity="error", fix="unsafe",
          summary="Disk cache mode 'unsafe' ignores guest flushes", triggers=("disk",),
          domains=QEMU)
    def disk_cache_unsafe(ctx: RuleContext) -> Iterator[Finding]:
        for disk in ctx.facts.disks:
            if disk.cache == "unsafe":
                yield ctx.finding(disk.driver, "...", attribute="cache", fix=...)

What a rule applies to is declared, not tested in its body: ``domains`` (which
domain types and architectures), ``needs`` (which parts of a host snapshot),
``triggers`` (which elements must be present). The engine skips a rule that
does not apply and says why under ``--verbose``.
"""

from __future__ import annotations

import enum
import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from lxml import etree

from ._lazy import lazy
from ._records import NamedTuple
from .edits import Editor
from .errors import InternalError
from .facts import ACCELERATED_VIRT_TYPES, QEMU_VIRT_TYPES, DomainBase
from .findings import Applicability, Edit, EditBuilder, Finding, Fix, Severity
from .versions import Versions

if TYPE_CHECKING:
    from .document import Document
    from .facts import DomainFacts
    from .host import DomainCapabilities, Host
    from .placement import HostBinding
    from .qemu_support import QemuSupport
    from .suppression import UnusedSelector

CODE_PATTERN = re.compile(r"^[A-Z]{1,8}[0-9]{1,4}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Source",
)
DOCS_URL = "https://github.com/domxml-lint/domxml-lint/blob/main/rules/{code}-{name}.md"

CheckFunction = Callable[["RuleContext"], Iterable[Finding]]


# -- what a rule applies to -----------------------------------------------------------------


class Domains(NamedTuple):
    """The domains a rule applies to: domain types and architectures (None: any)."""

    types: frozenset[str] | None = None
    arches: frozenset[str] | None = None
    label: str = "every domain"

    def applies(self, facts: DomainBase) -> bool:
        if self.types is not None and facts.virt_type not in self.types:
            return False
        return self.arches is None or facts.arch in self.arches

    def on(self, *arches: str) -> Domains:
        """The same domain types, on these architectures only."""
        return Domains(self.types, frozenset(arches), f"{self.label} on {', '.join(arches)}")


#: Every domain, whatever its type.
ANY_DOMAIN = Domains()
#: Domains libvirt's QEMU driver runs (type kvm, qemu or hvf): its checks and KVM tuning advice.
QEMU = Domains(QEMU_VIRT_TYPES, label="QEMU domains (kvm, qemu, hvf)")
#: QEMU domains on a hardware accelerator (kvm, hvf), where host-CPU advice applies; not TCG.
ACCELERATED = Domains(ACCELERATED_VIRT_TYPES, label="accelerated QEMU domains (kvm, hvf)")
#: KVM domains only (``<domain type='kvm'>``): advice that assumes KVM's hardware acceleration.
KVM = Domains(frozenset({"kvm"}), label="KVM domains")
#: Domains whose tunables libvirt writes to Linux cgroups (memtune, blkiotune).
CGROUPS = Domains(
    frozenset({"kvm", "qemu", "lxc"}), label="domains run in cgroups (kvm, qemu, lxc)"
)
#: Architectures, for ``QEMU.on(*X86)``.
X86 = ("i686", "x86_64")


class HostPart(enum.Enum):
    """A part of a host snapshot that a rule needs; without it the rule does not run."""

    SNAPSHOT = "a host snapshot"
    CAPABILITIES = "host capabilities (virsh capabilities)"
    NUMA = "host NUMA cells (capabilities host/topology/cells)"
    PAGE_SIZES = "host page sizes (capabilities host/cpu/pages)"
    CACHE_BANKS = "host cache banks (capabilities host/cache)"
    QEMU_GUESTS = "QEMU guests in the capabilities (a snapshot from libvirt's QEMU driver)"
    DOMAIN_CAPABILITIES = "domain capabilities (virsh domcapabilities)"
    #: libvirt's probed capabilities of QEMU binaries (its cache): flags, CPU models, machines.
    QEMU_CAPABILITIES = "libvirt's QEMU capabilities cache (host snapshot --qemu-caps)"
    NODE_DEVICES = "PCI node devices (virsh nodedev-dumpxml)"
    #: The kernel and service facts of ``domxml-lint host facts`` (``host.system``). Each fact
    #: in it is optional: a rule that needs one says so with ``ctx.note`` when it is unknown.
    SYSTEM = "system facts (domxml-lint host facts: THP, KSM, huge pages, services ...)"

    def present(self, host: Host) -> bool:
        caps = host.capabilities
        if self is HostPart.SNAPSHOT:
            return True
        if self is HostPart.CAPABILITIES:
            return caps is not None
        if self is HostPart.NUMA:
            return host.has_numa
        if self is HostPart.PAGE_SIZES:
            return host.page_sizes_kib is not None
        if self is HostPart.CACHE_BANKS:
            return host.has_cache_banks
        if self is HostPart.QEMU_GUESTS:
            return caps is not None and any(g.domain_types & QEMU_VIRT_TYPES for g in caps.guests)
        if self is HostPart.DOMAIN_CAPABILITIES:
            return host.has_domain_capabilities
        if self is HostPart.QEMU_CAPABILITIES:
            return bool(host.qemu_capabilities)
        if self is HostPart.SYSTEM:
            return host.system is not None
        return host.has_node_devices


class Stage(enum.Enum):
    """When a rule runs: on the document, or after suppression comments were applied."""

    DOCUMENT = "document"
    #: Sees which suppressions suppressed nothing (``ctx.unused_suppressions``).
    SUPPRESSIONS = "suppressions"
    #: Sees every guest of one host at once, after the documents were checked
    #: (:mod:`domxml_lint.planrules`); never runs on a single document.
    PLAN = "plan"


# -- the rule -------------------------------------------------------------------------------


@attrs.frozen
class Rule:
    """A lint rule's metadata and its check function."""

    code: str
    name: str
    severity: Severity
    summary: str
    check: CheckFunction = attrs.field(eq=False, repr=False)
    fix: Applicability | None = None
    default: bool = True
    triggers: frozenset[str] | None = None
    domains: Domains = ANY_DOMAIN
    needs: frozenset[HostPart] = frozenset()
    #: The libvirt functions whose refusals the rule reproduces (empty for advice).
    libvirt: tuple[str, ...] = ()
    stage: Stage = Stage.DOCUMENT
    #: A generic check (the schema) that yields: its finding on an element is dropped
    #: when another rule reports an error there, so one problem gives one finding.
    yields: bool = False
    #: The check function's docstring as written; :attr:`doc` is it dedented.
    docstring: str = attrs.field(default="", repr=False, alias="doc")
    options: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    #: Where a plugin documents the rule (http or https); built-ins use :data:`DOCS_URL`.
    help_url: str | None = attrs.field(default=None, repr=False)

    @property
    def needs_host(self) -> bool:
        return bool(self.needs)

    @property
    def deferred(self) -> bool:
        """Whether the check still sits in its unimported module (a built-in from the index)."""
        return isinstance(self.check, DeferredCheck)

    def loaded(self) -> Rule:
        """The rule with its check function: itself, or for a deferred built-in the rule its
        module defines (imported now, and checked against the index)."""
        check = self.check
        return check.load(self) if isinstance(check, DeferredCheck) else self

    def metadata(self) -> tuple[Any, ...]:
        """Everything but the check and the docstring: what the rule index records."""
        return (
            self.code, self.name, self.severity, self.summary, self.fix, self.default,
            self.triggers, self.domains, self.needs, self.libvirt, self.stage, self.yields,
            dict(self.options), self.help_url,
        )  # fmt: skip

    @functools.cached_property
    def doc(self) -> str:
        """The documentation (ruff's sections), dedented on first use: most runs never read it."""
        return inspect.cleandoc(self.loaded().docstring)

    @property
    def origin(self) -> str:
        """The top-level package that provides the rule (``domxml_lint`` for built-ins)."""
        return (getattr(self.check, "__module__", None) or "?").split(".")[0]

    @property
    def source_file(self) -> str:
        """Where the rule is defined: ``src/domxml_lint/rules/dx4_storage/disk_cache.py`` for a
        built-in (relative to the repository), else the module's file or name."""
        module = getattr(self.check, "__module__", "?")
        if self.origin == "domxml_lint":
            return "src/" + module.replace(".", "/") + ".py"
        try:
            return inspect.getsourcefile(self.check) or module
        except TypeError:
            return module

    @property
    def source_line(self) -> int | None:
        try:
            return inspect.getsourcelines(self.loaded().check)[1]
        except (OSError, TypeError):
            return None

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code, name=self.name)

    def section(self, title: str) -> str:
        """One section of the documentation (empty if missing)."""
        pattern = rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)"
        match = re.search(pattern, self.doc, re.S | re.M)
        return match.group(1).strip() if match else ""


class DeferredCheck:
    """A built-in rule's check function, left in its module until a document needs it.

    The rule index (``rules/_index.py``) holds every built-in rule's metadata, so
    selecting rules and dispatching them by trigger imports no rule module; the
    engine calls :meth:`Rule.loaded` when a document triggers the rule. Calling
    the object itself also works (it loads first), for callers that hold the rule.
    """

    def __init__(self, module: str, attribute: str, function: str = "check") -> None:
        self.__module__ = module  # what Rule.origin and Rule.source_file read
        self.attribute = attribute
        #: ``check``, or ``plan_check`` for a plan rule.
        self.function = function
        self._rule: Rule | None = None

    def load(self, expected: Rule) -> Rule:
        if self._rule is None:
            import importlib

            found = getattr(importlib.import_module(self.__module__), self.attribute, None)
            if not isinstance(found, Rule) or found.metadata() != expected.metadata():
                raise InternalError(
                    self.__module__,
                    f"the rule index disagrees with {self.__module__}.{self.attribute} "
                    f"for rule {expected.code}",
                    hint="regenerate it: python tools/rule_index.py --write",
                )
            self._rule = found
        return self._rule

    def __call__(self, ctx: Any) -> Any:
        found = self._rule
        if found is None:  # a caller holding the indexed rule calls its check directly
            import importlib

            found = getattr(importlib.import_module(self.__module__), self.attribute)
        return getattr(found, self.function)(ctx)


def rule(
    *,
    code: str,
    name: str,
    severity: str | Severity,
    summary: str,
    fix: str | Applicability | None = None,
    default: bool = True,
    triggers: Iterable[str] | None = None,
    domains: Domains = ANY_DOMAIN,
    needs: Iterable[HostPart] = (),
    needs_host: bool = False,
    libvirt: Sequence[str] = (),
    stage: Stage = Stage.DOCUMENT,
    options: Mapping[str, Any] | None = None,
    url: str | None = None,
    yields: bool = False,
) -> Callable[[CheckFunction], Rule]:
    """Declare a rule.

    ``triggers``: element names of which at least one must be present; ``domains``:
    the domains it applies to (:data:`QEMU`, ``QEMU.on(*X86)`` ...); ``needs``: the
    host parts it reads (``needs_host=True`` is short for "any host snapshot");
    ``libvirt``: the libvirt functions it reproduces; ``url``: the rule's
    documentation page, for a plugin (JSON ``url``, SARIF ``helpUri``); ``yields``: a
    generic check whose finding gives way to another rule's error on the same element.
    """
    if not CODE_PATTERN.match(code):
        raise ValueError(f"rule code {code!r} must look like DX401 (letters then digits)")
    if not NAME_PATTERN.match(name):
        raise ValueError(f"rule name {name!r} must be kebab-case")
    if url is not None and not url.startswith(("https://", "http://")):
        raise ValueError(f"rule {code}: url {url!r} must be an http:// or https:// address")
    parts = frozenset(needs) | ({HostPart.SNAPSHOT} if needs_host else frozenset())

    def decorate(check: CheckFunction) -> Rule:
        return Rule(
            code=code,
            name=name,
            severity=Severity(severity),
            summary=summary,
            check=check,
            fix=None if fix is None else Applicability(fix),
            default=default,
            triggers=None if triggers is None else frozenset(triggers),
            domains=domains,
            needs=parts,
            libvirt=tuple(libvirt),
            stage=stage,
            doc=check.__doc__ or "",
            options=dict(options or {}),
            help_url=url,
            yields=yields,
        )

    return decorate


# -- what a rule sees -----------------------------------------------------------------------


def _edits_given(edits: tuple[Edit | EditBuilder, ...]) -> Iterable[Edit] | EditBuilder:
    """``safe_fix``'s arguments: edits, or exactly one builder."""
    if len(edits) == 1 and callable(edits[0]):
        return edits[0]
    if any(callable(e) for e in edits):
        raise TypeError("give a fix its edits, or one function that builds them")
    return edits  # type: ignore[return-value]  # only edits are left


@functools.cache
def _qemu_support() -> Callable[[DomainFacts, Host | None, Versions], QemuSupport]:
    """:func:`.qemu_support.qemu_support`, imported on first use (not at start-up) and
    once: an import statement in ``RuleContext.qemu`` cost a few µs per document."""
    from .qemu_support import qemu_support

    return qemu_support


class RuleContext:
    """What a rule sees: the document, its facts, the host, its options and an editor.

    One context serves every rule run on a document; the engine sets ``rule``.
    """

    def __init__(
        self,
        doc: Document,
        facts: DomainFacts,
        host: Host | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        versions: Versions | None = None,
    ) -> None:
        self.doc = doc
        self.facts = facts
        self.optional_host = host
        #: The libvirt and QEMU versions checks follow (from the config, else the snapshot).
        self.versions = versions or Versions()
        self.rule: Rule | None = None
        self.edit = Editor(doc)
        self.notes: list[tuple[str, str]] = []
        #: For rules of :attr:`Stage.SUPPRESSIONS`: suppressions that suppressed nothing.
        self.unused_suppressions: Sequence[UnusedSelector] = ()
        self._options = options or {}

    @property
    def host(self) -> Host:
        """The host snapshot; only rules that declare ``needs`` may read it."""
        if self.optional_host is None:
            current = self.rule.code if self.rule is not None else "?"
            raise InternalError(
                self.doc.path,
                f"rule {current} reads ctx.host without declaring needs=",
                hint="declare the host parts it reads, or use ctx.optional_host",
            )
        return self.optional_host

    @lazy
    def placement(self) -> HostBinding:
        """Where the guest sits on the host's NUMA nodes (derived once per document)."""
        from .placement import host_binding

        return host_binding(self.facts, self.host)

    @property
    def domain_caps(self) -> DomainCapabilities | None:
        """The domain capabilities for this guest's type, arch and machine, or None.

        For rules that declare ``needs=(HostPart.DOMAIN_CAPABILITIES,)``: the
        snapshot may hold several documents (one per machine type) and this is
        the one libvirt would consult. When none matches, the rule gets None and
        a note saying so (shown with ``-v``): capability checks then stay silent.
        """
        facts = self.facts
        caps = self.host.domain_caps_for(facts.virt_type, facts.arch, facts.machine)
        if caps is None:
            self.note(
                "the host snapshot has no domain capabilities for "
                f"{facts.virt_type or '?'}/{facts.arch or 'host arch'}/"
                f"{facts.machine or 'default machine'}"
            )
        return caps

    @property
    def device_caps(self) -> DomainCapabilities | None:
        """Domain capabilities for checks of device models (video, graphics, TPM ...).

        libvirt fills those sections from the emulator binary alone, whatever the
        machine type, so when the snapshot has no document for the guest's own
        machine (``pc-i440fx-2.12`` beside one for ``pc-i440fx-9.1``), any document
        of the same virt type, arch and emulator answers. None (with a note) when
        there is none, or when several emulators would disagree.
        """
        facts = self.facts
        host = self.host
        caps = host.domain_caps_for(facts.virt_type, facts.arch, facts.machine)
        if caps is not None:
            return caps
        arch = facts.arch or (host.capabilities.arch if host.capabilities else None)
        same = [
            dc
            for dc in host.domain_capabilities
            if dc.virt_type == facts.virt_type and (arch is None or dc.arch == arch)
        ]
        if same and len({dc.path for dc in same}) == 1:
            return same[0]
        self.note(
            "the host snapshot has no domain capabilities for "
            f"{facts.virt_type or '?'}/{arch or 'host arch'}"
        )
        return None

    @lazy
    def qemu(self) -> QemuSupport:
        """What the guest's QEMU supports: the snapshot's capabilities cache for its binary,
        else the QEMU version through domxml-lint's table (:mod:`.qemu_support`). Any rule
        may read it; it needs no snapshot."""
        return _qemu_support()(self.facts, self.optional_host, self.versions)

    def qemu_lacks(self, *flags: str) -> str | None:
        """Why the guest's QEMU certainly lacks every one of ``flags`` (libvirt's
        ``!virQEMUCapsGet``), for the finding; None when it has one, or when that is
        unknown (a ``-v`` note then says why the check stayed silent)."""
        answer = self.qemu.any_flag(*flags) if len(flags) > 1 else self.qemu.flag(flags[0])
        if answer.has is None:
            asked = " or ".join(repr(flag) for flag in flags)
            self.note(f"QEMU capability {asked} unknown: {answer.why}")
        return answer.why if answer.has is False else None

    def libvirt_at_least(self, major: int, minor: int = 0, micro: int = 0) -> bool:
        """Whether the target libvirt is this release or newer (True when unknown: the
        newest behaviour). Rules whose check changed between releases branch on it."""
        return self.versions.libvirt_at_least(major, minor, micro)

    def qemu_at_least(self, major: int, minor: int = 0, micro: int = 0) -> bool:
        return self.versions.qemu_at_least(major, minor, micro)

    def option(self, key: str) -> Any:
        """A per-rule option: the configured value, else the rule's default."""
        assert self.rule is not None
        configured = self._options.get(self.rule.name, {})
        return configured.get(key, self.rule.options[key])

    def finding(
        self,
        element: etree._Element,
        message: str,
        *,
        attribute: str | None = None,
        fix: Fix | None = None,
        severity: Severity | str | None = None,
    ) -> Finding:
        """A finding located at ``element``'s start tag, or at one of its attributes."""
        doc = self.doc
        start, end = doc.start_tag(element)
        if attribute is not None:
            attribute_span = doc.attribute_span(element, attribute)
            if attribute_span is not None:
                start, end = attribute_span.name_start, attribute_span.end
        return self.finding_at(
            start, end, message, path=doc.xpath_of(element), fix=fix, severity=severity
        )

    def finding_at(
        self,
        start: int,
        end: int,
        message: str,
        *,
        path: str,
        fix: Fix | None = None,
        severity: Severity | str | None = None,
    ) -> Finding:
        """A finding at a byte span that is not an element (a comment, say)."""
        rule_ = self.rule
        assert rule_ is not None, "finding() called outside a rule"
        line, column = self.doc.position(start)
        end_line, end_column = self.doc.position(end)
        return Finding(
            code=rule_.code,
            name=rule_.name,
            severity=rule_.severity if severity is None else Severity(severity),
            message=message,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            path=path,
            fix=fix,
            offset=start,
        )

    def safe_fix(self, title: str, *edits: Edit | EditBuilder) -> Fix:
        """A safe fix made of ``edits``, or of what one function given instead builds when
        the edits are first needed (``ctx.safe_fix(title, lambda: [ctx.edit...])``): a
        lint whose output shows no edits then never builds them."""
        return Fix(Applicability.SAFE, title, _edits_given(edits))

    def unsafe_fix(self, title: str, *edits: Edit | EditBuilder) -> Fix:
        """An unsafe fix, as :meth:`safe_fix` makes a safe one."""
        return Fix(Applicability.UNSAFE, title, _edits_given(edits))

    def note(self, message: str) -> None:
        """Say why the rule stayed silent (e.g. the guest's PCI device is not in the snapshot).

        Shown with ``--verbose``; never a finding.
        """
        assert self.rule is not None
        self.notes.append((self.rule.code, message))
