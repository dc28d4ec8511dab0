"""The set of known rules and ruff-style selection (ALL, codes, prefixes, names)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from .errors import UsageError
from .rule import Rule

_EXACT = 1000  # specificity of a full code or a name


class RuleSet:
    """All known rules, indexed by code and name."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: list[Rule] = sorted(rules, key=lambda r: r.code)
        self.by_code: dict[str, Rule] = {}
        self.by_name: dict[str, Rule] = {}
        for item in self.rules:
            for index, key in ((self.by_code, item.code), (self.by_name, item.name)):
                other = index.get(key)
                if other is not None:
                    raise UsageError(
                        f"two rules claim {key!r}: {other.code} from {other.origin} and "
                        f"{item.code} from {item.origin}; uninstall one of the plugins"
                    )
                index[key] = item

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, code_or_name: str) -> Rule | None:
        return self.by_code.get(code_or_name.upper()) or self.by_name.get(code_or_name.lower())

    def matches(self, selector: str) -> list[Rule]:
        """Rules a selector names; raises UsageError (with a suggestion) if it names none."""
        return [r for r in self.rules if self._specificity(selector, r) is not None] or self._unknown(
            selector
        )

    def select(
        self,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] = (),
        extend_select: Sequence[str] = (),
    ) -> list[Rule]:
        """The rules that run: ruff's semantics, where the more specific selector wins.

        Without ``select`` the default set runs (rules not marked opt-in). Opt-in
        rules run only when a select or extend-select selector names them
        (``ALL``, a prefix, a code or a name). At equal specificity ignore wins.
        """
        for selector in (*(select or ()), *ignore, *extend_select):
            self.matches(selector)
        chosen = []
        for item in self.rules:
            on = self._best(item, [*(select or ()), *extend_select])
            if select is None and item.default:
                on = max(on if on is not None else -1, -1)
            off = self._best(item, ignore)
            if on is not None and (off is None or on > off):
                chosen.append(item)
        return chosen

    def _best(self, item: Rule, selectors: Sequence[str]) -> int | None:
        best = None
        for selector in selectors:
            score = self._specificity(selector, item)
            if score is not None and (best is None or score > best):
                best = score
        return best

    @staticmethod
    def _specificity(selector: str, item: Rule) -> int | None:
        if selector.upper() == "ALL":
            return 0
        if selector.upper() == item.code or selector.lower() == item.name:
            return _EXACT
        if selector and item.code.startswith(selector.upper()):
            return len(selector)
        return None

    def _unknown(self, selector: str) -> list[Rule]:
        candidates = [r.code for r in self.rules] + [r.name for r in self.rules]
        close = difflib.get_close_matches(selector, candidates, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown rule selector {selector!r}{hint} "
            "(use ALL, a code such as DX401, a prefix such as DX4, or a rule name; "
            "`domxml-lint rules` lists them)"
        )
