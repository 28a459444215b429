"""The public API: every exported name exists and is documented."""

from __future__ import annotations

import inspect

import volreg


def test_every_public_name_exists_and_has_a_docstring() -> None:
    """Each name in volreg.__all__ resolves and carries a docstring, and so do its public methods."""
    missing = []
    for name in volreg.__all__:
        obj = getattr(volreg, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member) and not inspect.getdoc(member):
                    missing.append(f"{name}.{attr}")
    assert [] == missing


def test_registry_methods_are_documented() -> None:
    """Every public Registry method, from every mixin, has a docstring."""
    undocumented = [
        name
        for name, member in inspect.getmembers(volreg.Registry, callable)
        if not name.startswith("_") and not inspect.getdoc(member)
    ]
    assert [] == undocumented


def test_errors_subclass_the_fitting_builtins() -> None:
    """volreg's errors can be caught as VolregError and as the built-in they resemble."""
    assert issubclass(volreg.InvalidValue, ValueError)
    assert issubclass(volreg.NotFound, LookupError)
    assert all(issubclass(getattr(volreg, n), volreg.VolregError) for n in volreg.__all__ if n.endswith(("Error", "Found")) and n != "VolregError")
