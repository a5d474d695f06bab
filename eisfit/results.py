"""The one technique that makes eisfit's results immutable.

Results are frozen dataclasses; :func:`frozen_arrays`, called from ``__post_init__``,
replaces every NumPy array field by a read-only copy and every mapping field by a
read-only (and picklable) dict, so that ``result.Z[0] = 0`` or ``result.scores["gcv"] = …`` raise
instead of silently changing a result that other code holds.

Examples
--------
>>> import numpy as np

from .errors import ReadOnlyError
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class R:
...     a: np.ndarray
...     def __post_init__(self):
...         frozen_arrays(self)
>>> r = R(np.zeros(2))
>>> r.a.flags.writeable
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

import numpy as np

from .errors import ReadOnlyError

__all__ = ["frozen_arrays", "readonly", "FrozenDict"]


class FrozenDict(dict):
    """A read-only dict that pickles (results travel back from worker processes)."""

    def _refuse(self, *args, **kwargs):
        raise ReadOnlyError("this mapping is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __hash__(self):  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=repr)))


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only copy of an array (the input is left untouched)."""
    out = np.array(a, copy=True)
    out.setflags(write=False)
    return out


def frozen_arrays(obj) -> None:
    """Make the array and mapping fields of a frozen dataclass instance read-only.

    Mappings in private fields (``_name``: caches of derived values) are left alone.
    """
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            object.__setattr__(obj, f.name, readonly(v))
        elif isinstance(v, Mapping) and not isinstance(v, FrozenDict) and not f.name.startswith("_"):
            object.__setattr__(
                obj, f.name,
                FrozenDict({k: readonly(x) if isinstance(x, np.ndarray) else x
                            for k, x in v.items()}),
            )
