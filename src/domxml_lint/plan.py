"""RunPlan: what one run decides before it checks any document.

The rules selected for each distinct set of settings (a :class:`Linter` each)
and the host each settings name, loaded once. The command line builds one plan
per run and hands it to every task; forked ``--jobs`` workers inherit it. There
is no state between runs: a second plan starts from nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .config import FileSettings, HostSpec
from .errors import InputError, UsageError
from .linter import Linter, SkippedRule
from .rule import Rule
from .ruleset import RuleSet

if TYPE_CHECKING:
    from .host import Host


class RunPlan:
    """The linters and hosts of one run, built on first use and kept for the run."""

    def __init__(self, ruleset: RuleSet, *, live_hosts: Mapping[str, Host] | None = None) -> None:
        self.ruleset = ruleset
        self._live_hosts = dict(live_hosts or {})
        self._hosts: dict[tuple[str, ...], Host] = {}
        self._linters: dict[FileSettings, Linter] = {}

    def prepare(self, settings: Iterable[FileSettings]) -> None:
        """Build every linter now, so bad settings fail once before any file is touched."""
        for item in dict.fromkeys(settings):
            self.linter(item)

    def linter(self, settings: FileSettings) -> Linter:
        """The Linter for these settings (built once; raises UsageError for bad settings)."""
        linter = self._linters.get(settings)
        if linter is None:
            rules = self.ruleset.select_layers(settings.selection)
            if settings.per_file_ignore:
                ignored = {
                    r.code for s in settings.per_file_ignore for r in self.ruleset.matches(s)
                }
                rules = [r for r in rules if r.code not in ignored]
            host = self.host(settings.host)
            linter = Linter(
                rules,
                self.ruleset,
                host=host,
                options=settings.rule_options,
                versions=settings.versions,
            )
            self._linters[settings] = linter
        return linter

    def host(self, spec: HostSpec) -> Host | None:
        """The host these settings name: the live connection's, or loaded from files once."""
        if spec.connection is not None:
            return self._live_hosts[spec.connection]
        if not spec.files:
            return None
        host = self._hosts.get(spec.files)
        if host is None:
            host = self._hosts[spec.files] = _load_host_files(spec.files)
        return host

    @property
    def linters(self) -> tuple[Linter, ...]:
        return tuple(self._linters.values())

    def rules_that_ran(self) -> tuple[Rule, ...]:
        """Every rule some linter of the run applied, in code order."""
        chosen = {item.code: item for linter in self.linters for item in linter.runs}
        return tuple(chosen[code] for code in sorted(chosen))

    def skipped_for_host_parts(self) -> list[tuple[str, list[str]]]:
        """Rules a host snapshot could not serve, grouped by what it lacks."""
        by_reason: dict[str, set[str]] = {}
        for linter in self.linters:
            if linter.host is None:
                continue  # the summary's "host-aware rules skipped: no --host" says it
            for skipped in linter.skipped:
                by_reason.setdefault(skipped.reason, set()).add(skipped.rule.code)
        return [(reason, sorted(codes)) for reason, codes in sorted(by_reason.items())]


def _load_host_files(paths: tuple[str, ...]) -> Host:
    try:
        from .host import load_host
    except ModuleNotFoundError as exc:
        if exc.name not in ("domxml_lint.host", __package__ + ".host"):
            raise
        raise UsageError(
            "--host / host = needs host snapshot support (the domxml_lint.host module), "
            "which this installation lacks; install a release that has it, or drop --host"
        ) from None
    try:
        return load_host(*paths)
    except InputError as exc:  # a bad host file stops the run: exit 2, one line
        raise UsageError(str(exc)) from None


__all__ = ["RunPlan", "SkippedRule"]
