"""Shared fixtures: a registry on an in-memory database and factories for the common entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import make_id_number

import volreg


@pytest.fixture
def registry() -> volreg.Registry:
    """A fresh registry on an in-memory database, in the default Asia/Shanghai zone."""
    reg = volreg.open(":memory:", key="test-key")
    yield reg
    reg.close()


@pytest.fixture
def city(registry: volreg.Registry) -> volreg.Organisation:
    """The city civilisation office at the root of the organisation tree."""
    return registry.add_organisation("嘉峪关市文明办", kind="city_office")


@pytest.fixture
def community(registry: volreg.Registry, city: volreg.Organisation) -> volreg.Organisation:
    """A community under the city office."""
    return registry.add_organisation("新华社区", kind="community", parent=city)


@pytest.fixture
def make_volunteer(registry: volreg.Registry, community: volreg.Organisation) -> Callable[..., volreg.Volunteer]:
    """Register a volunteer; keyword overrides go to ``register_volunteer``."""

    def make(name: str = "张三", **overrides: Any) -> volreg.Volunteer:
        overrides.setdefault("id_number", make_id_number())
        overrides.setdefault("organisation", community)
        overrides.setdefault("registered_on", "2023-01-01")
        return registry.register_volunteer(name, **overrides)

    return make


@pytest.fixture
def make_activity(registry: volreg.Registry, community: volreg.Organisation) -> Callable[..., volreg.Activity]:
    """Add a volunteer-service activity on 2024-03-05 09:00–17:00; keyword overrides go to ``add_activity``."""

    def make(title: str = "学雷锋志愿服务", **overrides: Any) -> volreg.Activity:
        overrides.setdefault("category", "敬老助老")
        overrides.setdefault("start", "2024-03-05 09:00")
        overrides.setdefault("end", "2024-03-05 17:00")
        overrides.setdefault("organiser", community)
        return registry.add_activity(title, **overrides)

    return make
