"""torchvision's model classes as a test oracle, without torchvision's C extension.

torchvision 0.28.0 installs next to the torch 2.13.0 CPU wheel (`pip install --no-deps torchvision==0.28.0`), but
`import torchvision` raises there: its package __init__ imports _meta_registrations, which registers fake kernels
for C++ operators (torchvision::nms, ...) that its _C extension, built for another torch, does not provide. The
classification models, torchvision.ops.misc (Conv2dNormActivation, SqueezeExcitation) and StochasticDepth are pure
Python and never call those operators. So torchvision is registered as a bare package (a module whose __path__ is
the installed package directory, without running its __init__) and torchvision.models is imported as usual. Its
import chain needs no stub: torchvision.extension tries _C, catches the OSError and records that the custom ops are
missing, which only the detection ops (nms, roi_align) would need at call time.
"""
from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import sys
import types


@functools.cache
def models() -> types.ModuleType | None:
    """The torchvision.models module, or None when torch or torchvision is not installed (or it cannot load)."""
    if importlib.util.find_spec("torch") is None:
        return None
    bare = "torchvision" not in sys.modules
    if bare:
        spec = importlib.util.find_spec("torchvision")
        if spec is None or not spec.submodule_search_locations:
            return None
        package = types.ModuleType("torchvision")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
        package.__spec__.submodule_search_locations = package.__path__
        package.__file__ = spec.origin
        sys.modules["torchvision"] = package
    try:
        return importlib.import_module("torchvision.models")
    except ImportError:  # e.g. Pillow missing (torchvision.transforms imports it): no oracle
        if bare:
            for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
                del sys.modules[name]
        return None
