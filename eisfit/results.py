"""The one technique that makes eisfit's results immutable.

Results are frozen dataclasses; :func:`frozen_arrays`, called from ``__post_init__``,
replaces every NumPy array field by a read-only copy and every mapping field by a
read-only view, so that ``result.Z[0] = 0`` or ``result.scores["gcv"] = …`` raise
instead of silently changing a result that other code holds.

Examples
--------
>>> import numpy as np
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
from types import MappingProxyType

import numpy as np

__all__ = ["frozen_arrays", "readonly"]


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only copy of an array (the input is left untouched)."""
    out = np.array(a, copy=True)
    out.setflags(write=False)
    return out


def frozen_arrays(obj) -> None:
    """Make the array and mapping fields of a frozen dataclass instance read-only."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            object.__setattr__(obj, f.name, readonly(v))
        elif isinstance(v, Mapping) and not isinstance(v, MappingProxyType):
            object.__setattr__(
                obj, f.name,
                MappingProxyType({k: readonly(x) if isinstance(x, np.ndarray) else x
                                  for k, x in v.items()}),
            )
