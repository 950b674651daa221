"""Small records compared, hashed and shown by their fields, made without generated code.

``@dataclass`` compiles an ``__init__``, ``__eq__``, ``__repr__`` (and more) for each class when its module is
imported: some 2-3.5 M instructions a class, which every kernel loading nblineage would pay for each of the records
capture uses. A :class:`Value` subclass names its fields once (``FIELDS``, in order) and writes its own
``__init__``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar


class Value:
    """Equal to a record of the same class whose ``FIELDS`` are equal; hashed and shown by them."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()
    _values: ClassVar[Any]  # the fields' values, as a tuple

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        getter = attrgetter(*cls.FIELDS)
        cls._values = staticmethod(getter if len(cls.FIELDS) > 1 else lambda record: (getter(record),))

    def __eq__(self, other: object) -> bool:
        return self._values(self) == other._values(other) if type(other) is type(self) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self.FIELDS, self._values(self), strict=True))
        return f"{type(self).__name__}({shown})"
