"""``NamedTuple`` for domxml-lint's value classes, without typing's per-field checks.

``typing.NamedTuple`` turns each string annotation (every module here uses
``from __future__ import annotations``) into a ``ForwardRef`` and compiles it:
the ~130 classes a run imports cost a one-file run ~10 ms, two thirds of their
creation. This builds the same ``collections.namedtuple`` class and copies the
class body onto it the way ``typing`` does (methods, properties, docstring), and
keeps the annotations as written. Type checkers see ``typing.NamedTuple``.
Only the class syntax is supported; generic named tuples use ``typing``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # What typing refuses in a body, and what it does not copy onto the class.
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
         "_make", "_replace", "_asdict", "_source"}
    )  # fmt: skip
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _RecordMeta(type):
        def __new__(cls, typename, bases, namespace):
            annotations = namespace.get("__annotations__", {})
            defaults = []
            for field in annotations:
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(
                        f"Non-default namedtuple field {field} cannot follow default field"
                        f"{'s' if len(defaults) > 1 else ''} "
                        f"{', '.join(f for f in annotations if f in namespace)}"
                    )
            record = collections.namedtuple(
                typename, list(annotations), defaults=defaults, module=namespace["__module__"]
            )
            record.__annotations__ = dict(annotations)
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in record._fields:
                    setattr(record, key, value)
            return record

    NamedTuple = type.__new__(_RecordMeta, "NamedTuple", (), {})
