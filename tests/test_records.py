"""domxml_lint._records.NamedTuple behaves as typing.NamedTuple for the class syntax we use."""

from __future__ import annotations

import typing

import pytest

from domxml_lint._records import NamedTuple


def _pair(base):
    class Point(base):
        """A point."""

        x: int
        y: int | None = None
        tags: tuple[str, ...] = ()

        @property
        def flat(self) -> bool:
            return self.y is None

        def moved(self, dx: int) -> Point:
            return self._replace(x=self.x + dx)

    return Point


@pytest.mark.parametrize("base", [NamedTuple, typing.NamedTuple], ids=["records", "typing"])
def test_same_behaviour_as_typing(base):
    point = _pair(base)
    p = point(1)
    assert p == (1, None, ()) and p.flat and p.moved(2) == point(3)
    assert point._fields == ("x", "y", "tags")
    assert point._field_defaults == {"y": None, "tags": ()}
    assert point.__doc__ == "A point."
    assert point.__name__ == "Point" and point.__module__ == __name__
    assert "_pair.<locals>.Point" in point.__qualname__
    assert typing.get_type_hints(point)["y"] == int | None
    assert isinstance(p, tuple)


def test_refuses_what_typing_refuses():
    with pytest.raises(TypeError, match="Non-default namedtuple field b"):

        class Bad(NamedTuple):
            a: int = 0
            b: int

    with pytest.raises(AttributeError, match="Cannot overwrite NamedTuple attribute _replace"):

        class Worse(NamedTuple):
            a: int

            def _replace(self):
                return self
