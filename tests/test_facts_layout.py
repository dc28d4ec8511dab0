"""DomainFacts joins one mixin per family: no family may silently shadow another's fact."""

from __future__ import annotations

from domxml_lint.facts import DomainFacts


def test_no_fact_is_defined_by_two_families():
    owners: dict[str, list[str]] = {}
    for cls in DomainFacts.__mro__[1:]:
        if cls is object:
            continue
        for name in vars(cls):
            if not name.startswith("__"):
                owners.setdefault(name, []).append(cls.__name__)
    shadowed = {name: classes for name, classes in owners.items() if len(classes) > 1}
    assert shadowed == {}, "define a shared fact once, in DomainBase (facts/domain.py)"
