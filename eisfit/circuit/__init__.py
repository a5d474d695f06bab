"""Circuit DSL: elements, immutable trees, parser, compile step, builders, translators."""

from .builders import Preset, ladder, preset, presets
from .compile import CompiledCircuit
from .elements import ELEMENTS, ElementSpec, ParamSpec, element_table
from .foreign import from_cdc, from_impedance_py, to_cdc, to_impedance_py
from .nodes import Circuit, Element, Parallel, Series, make_element
from .parser import parse

R = make_element("R")
C = make_element("C")
L = make_element("L")
La = make_element("La")
Q = make_element("Q")
W = make_element("W")
Wo = make_element("Wo")
Ws = make_element("Ws")
G = make_element("G")
H = make_element("H")
T = make_element("T")
Tb = make_element("Tb")

__all__ = [
    "Circuit", "Element", "Series", "Parallel", "CompiledCircuit", "ELEMENTS", "ElementSpec",
    "ParamSpec", "element_table", "parse", "ladder", "Preset", "preset", "presets",
    "from_cdc", "to_cdc", "from_impedance_py", "to_impedance_py",
    "R", "C", "L", "La", "Q", "W", "Wo", "Ws", "G", "H", "T", "Tb",
]
