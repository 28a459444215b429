"""Every public name exists and says what it does."""

from __future__ import annotations

import inspect

import pytest

import volreg
import volreg.cli
import volreg.io


@pytest.mark.parametrize("name", volreg.__all__)
def test_every_public_name_exists_with_a_docstring(name):
    """A name in __all__ that is missing or undocumented would break users' code or leave them guessing."""
    obj = getattr(volreg, name)
    assert inspect.getdoc(obj), name


@pytest.mark.parametrize("name", ["import_file", "ImportReport", "Problem", "export_registry", "import_registry"])
def test_io_names_are_public(name):
    """The import and export API is reachable from the top-level package."""
    assert getattr(volreg, name) is getattr(volreg.io, name)
