"""Conversation storage behind one interface: SQLite (embedded default) or Firestore."""

from __future__ import annotations

from ..settings import Settings
from .base import Conversation, Message, Profile, Store, Turn


def make_store(settings: Settings) -> Store:
    """The configured store; each backend is imported only when chosen (short cold start)."""
    if settings.store == "firestore":
        from .firestore import FirestoreStore

        return FirestoreStore(
            project=settings.google_cloud_project or "",
            database=settings.firestore_database,
            ttl_days=settings.ttl_days,
            timeout_s=settings.store_timeout_s,
        )
    from .sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path, ttl_days=settings.ttl_days)


__all__ = ["Conversation", "Message", "Profile", "Store", "Turn", "make_store"]
