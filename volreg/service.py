"""The service-hour ledger: recording, verifying and correcting service records."""

from __future__ import annotations

from .base import RegistryBase

__all__ = ["ServiceMixin"]


class ServiceMixin(RegistryBase):
    """Writes and reads of service records."""
