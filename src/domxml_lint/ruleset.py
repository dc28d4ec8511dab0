"""The set of known rules and ruff-style selection (ALL, codes, prefixes, names)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._records import NamedTuple
from .errors import UsageError
from .rule import Rule

_EXACT = 1000  # specificity of a full code or a name


class Selection(NamedTuple):
    """One layer of rule selection (a config file, or the command line)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()


def suggest(word: str, candidates: list[str], *, cutoff: float = 0.6) -> str | None:
    """The closest candidate (difflib ratio >= cutoff), ties to the longest common prefix.

    ``DX4O1`` is as close to DX841 as to DX401 by ratio; the prefix decides.
    """
    import difflib  # only for a mistake

    folded = word.upper()

    def score(candidate: str) -> tuple[float, int]:
        other = candidate.upper()
        prefix = next(
            (i for i, (a, b) in enumerate(zip(folded, other, strict=False)) if a != b),
            min(len(folded), len(other)),
        )
        return difflib.SequenceMatcher(None, folded, other).ratio(), prefix

    if folded[:1].isalpha() and folded[-1:].isdigit():
        # A code: at 0.6, DX999 would suggest DX109; one slip in five is 0.8.
        cutoff = max(cutoff, 0.8)
    best = max(candidates, key=score, default=None)
    return best if best is not None and score(best)[0] >= cutoff else None


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
        return [
            r for r in self.rules if self._specificity(selector, r) is not None
        ] or self._unknown(selector)

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
        chosen = None if select is None else tuple(select)
        return self.select_layers([Selection(chosen, tuple(ignore), tuple(extend_select))])

    def select_layers(self, layers: Sequence[Selection]) -> list[Rule]:
        """Apply selections in order, as ruff stacks configuration and command line.

        Starting from the default set, a layer with ``select`` replaces the
        whole set; a layer without one adds its ``extend_select`` rules to, and
        removes its ``ignore`` rules from, what the earlier layers chose.
        """
        for layer in layers:
            for selector in (*(layer.select or ()), *layer.ignore, *layer.extend_select):
                self.matches(selector)
        chosen = {item.code for item in self.rules if item.default}
        for layer in layers:
            enable = [*(layer.select or ()), *layer.extend_select]
            updates: dict[str, bool] = {}
            for item in self.rules:
                on = self._best(item, enable)
                off = self._best(item, layer.ignore)
                if on is not None and (off is None or on > off):
                    updates[item.code] = True
                elif off is not None:
                    updates[item.code] = False
            if layer.select is not None:
                chosen = {code for code, enabled in updates.items() if enabled}
            else:
                for code, enabled in updates.items():
                    (chosen.add if enabled else chosen.discard)(code)
        return [item for item in self.rules if item.code in chosen]

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
        close = suggest(selector, [r.code for r in self.rules] + [r.name for r in self.rules])
        hint = f"; did you mean {close!r}?" if close else ""
        raise UsageError(
            f"unknown rule selector {selector!r}{hint} "
            "(use ALL, a code such as DX401, a prefix such as DX4, or a rule name; "
            "`domxml-lint rules` lists them)"
        )
