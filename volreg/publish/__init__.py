"""Publishing a registry without leaking it: the static hall of deeds and a shareable copy for Datasette."""

from __future__ import annotations

from .database import publish_database
from .site import publish_site

__all__ = ["publish_database", "publish_site"]
