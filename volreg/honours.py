"""The honour roll and nominations: titles, editions, awards, promotion and the review workflow."""

from __future__ import annotations

from .base import RegistryBase

__all__ = ["HonoursMixin"]


class HonoursMixin(RegistryBase):
    """Writes and reads of honour titles, awards and nominations."""
