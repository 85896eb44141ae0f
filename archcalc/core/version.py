"""archcalc's version, in a module of its own: what prints it (the CLI, reports, generated files) imports this,
not the package, whose ``__init__`` re-exports the public API from every stage."""

__version__ = "0.1.0"
