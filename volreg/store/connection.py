"""The life of a registry's SQLite connections: opened lazily, one per thread, closed before every fork.

Why one connection per thread (for a file) rather than one connection serialised by a lock: a write
transaction belongs to the connection it runs on, so with one shared connection every other thread's
statements would silently join (or wait for) the open transaction, and a lazy read iterated in one thread
would interleave with another thread's writes. With a connection per thread SQLite's WAL does the work it
is built for: readers never wait, writers queue on the busy timeout, and each thread's transaction is its
own. Threads of one process queue for the write lock on a Python lock (not in SQLite's busy handler, which
sleeps in growing steps). Measured with ``benchmarks/threads.py`` on a loaded 2-core machine (4 threads, each
logging 150 service records and asking ``hours()`` every fifth write): per-thread connections took 4.1–5.9 s,
one serialised connection 1.8–6.7 s (faster on most runs: one warm page cache), but with it a read waited
0.5 s behind another thread's 0.5 s write transaction where per-thread reads waited 0 ms. A web back end must
not queue its reads behind an import, so volreg uses a connection per thread.
An in-memory registry cannot be shared between connections, so it keeps one connection and serialises its
use with a re-entrant lock held for a whole write transaction.

Fork safety: SQLite forbids carrying an open connection across ``fork()`` (the child inherits per-process
lock state without the POSIX locks it describes, and the parent's later close may reset the WAL under the
child). An ``os.register_at_fork`` hook therefore closes every file connection of every live registry in
the process before a fork (waiting up to the busy timeout for other threads' write transactions to end);
each thread, in parent and child, reopens its connection lazily on next use. A write transaction that is
open in the forking thread itself, or that outlives the wait, is rolled back by that close and its
``with`` block raises :class:`volreg.Closed`: nothing of it is written, and nothing is corrupted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from ..errors import Busy, Closed

__all__ = ["Connections"]

log = logging.getLogger("volreg")


class _Handle:
    """One open connection, the process that opened it and its write-transaction depth."""

    __slots__ = ("db", "pid", "depth", "closed", "cursors", "before_commit", "__weakref__")

    def __init__(self, db: Database, pid: int) -> None:
        self.db = db
        self.pid = pid  # the process that opened it
        self.depth = 0  # nesting of write transactions running on it
        self.closed = False
        # Cursors of lazy reads not yet exhausted: a live cursor keeps its statement, and a connection with a
        # statement is only half closed (SQLite keeps the file and its lock state open until the statement is
        # finalised), which must not happen before a fork.
        self.cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()
        # What the running write transaction must still do before it commits (Store.before_commit).
        self.before_commit: list[Callable[[], None]] = []

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for cursor in list(self.cursors):
                with contextlib.suppress(sqlite3.Error):
                    cursor.close()
            with contextlib.suppress(sqlite3.Error):
                self.db.conn.close()


class Connections:
    """The connections of one registry database.

    Args:
        path: the database file, or None for an in-memory database.
        timeout: the busy timeout in seconds: how long a write waits for another writer's lock.
        readonly: open with SQLite's read-only mode (``mode=ro``): nothing can be written.
        database: a ``sqlite_utils.Database`` made by the caller, used as the one connection (in-memory
            databases and databases the caller passes in are not reopened).
    """

    def __init__(self, path: str | None, *, timeout: float, readonly: bool = False,
                 database: Database | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self.readonly = readonly
        self.immutable = False
        self._closed = False
        self._guard = threading.Lock()
        self._local = threading.local()
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._active = threading.Condition()
        self._writers = 0
        # The threads of one process queue for the write lock here rather than in SQLite's busy handler,
        # which sleeps in growing steps (up to 100 ms) between attempts.
        self._write_lock = threading.Lock()
        # One shared connection (memory or a caller's database) is serialised by this lock.
        self.lock: threading.RLock | None = None
        self._shared: _Handle | None = None
        self._owned = database is None  # a database the caller passed in stays theirs
        if database is not None or path is None:
            if database is None:
                database = Database(sqlite3.connect(":memory:", check_same_thread=False))
            self._shared = _Handle(database, os.getpid())
            self.lock = threading.RLock()
            self._configure(database)
        else:
            _LIVE.add(self)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- the current thread's connection ------------------------------------------------------------

    def handle(self) -> _Handle:
        """The current thread's open connection, opened now if it has none (or lost it to a fork)."""
        if self._closed:
            raise Closed(self.path)
        if self._shared is not None:
            return self._shared
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None and not handle.closed and handle.pid == os.getpid():
            return handle
        if handle is not None and handle.depth:
            # The connection was closed under an open write transaction (a fork or close() in another
            # thread): the transaction is gone; a new connection now would write its remainder alone.
            raise Closed(self.path, during_write=True)
        handle = _Handle(self._connect(), os.getpid())
        with self._guard:
            if self._closed:
                handle.close()
                raise Closed(self.path)
            self._handles.add(handle)
        self._local.handle = handle
        # The thread's connection closes when the thread ends (its thread-local goes away) or at close().
        weakref.finalize(handle, _close_quietly, handle.db.conn)
        return handle

    def get(self) -> Database:
        """The current thread's ``sqlite_utils.Database``."""
        return self.handle().db

    def _connect(self) -> Database:
        assert self.path is not None
        if self.readonly:
            uri = f"file:{quote(str(Path(self.path).absolute()))}?mode=ro"
            if self.immutable:
                uri += "&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=self.timeout)
        else:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self.timeout)
        db = Database(conn)
        self._configure(db)
        return db

    def _configure(self, db: Database) -> None:
        conn = db.conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.readonly:
            # Deleted and overwritten personal data must not linger in free pages (anonymisation).
            conn.execute("PRAGMA secure_delete = ON")
            if self.path is not None:
                # synchronous=FULL: each commit is on disk (the WAL fsynced) before the write method
                # returns, so a committed write survives a power cut too, not only a crash of the process.
                conn.execute("PRAGMA synchronous = FULL")

    # -- write transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[tuple[_Handle, bool]]:
        """Enter a write transaction level of the current thread: ``(handle, outermost)``.

        A shared connection is held (its lock) for the whole transaction; a fork waits for the outermost
        level of every thread to end.
        """
        lock = self.lock if self.lock is not None else contextlib.nullcontext()
        with lock:
            handle = self.handle()
            outermost = handle.depth == 0
            queued = outermost and self.lock is None
            if queued:
                if not self._write_lock.acquire(timeout=self.timeout):
                    raise Busy(int(self.timeout * 1000))
                with self._active:
                    self._writers += 1
            handle.depth += 1
            try:
                yield handle, outermost
            finally:
                handle.depth = 0 if outermost else handle.depth - 1
                if queued:
                    with self._active:
                        self._writers = max(0, self._writers - 1)
                        self._active.notify_all()
                    self._write_lock.release()

    # -- closing ------------------------------------------------------------------------------------

    def release(self, *, wait: float = 0.0) -> None:
        """Close every file connection (they reopen on next use), first waiting up to ``wait`` seconds for
        write transactions of other threads to end."""
        if self._shared is not None:
            return
        mine = getattr(self._local, "handle", None)
        own = 1 if mine is not None and mine.depth and not mine.closed else 0
        deadline = time.monotonic() + wait
        with self._active:
            while self._writers > own and time.monotonic() < deadline:
                self._active.wait(max(0.0, deadline - time.monotonic()))
        with self._guard:
            handles = list(self._handles)
            self._handles = weakref.WeakSet()
        for handle in handles:
            handle.close()

    def close(self, *, dropped: bool = False) -> None:
        """Close every connection for good; later use raises :class:`volreg.Closed`.

        Args:
            dropped: the registry was dropped without ``close()``: a database the caller passed in is left
                open for the caller (an explicit ``close()`` closes it, as it always has).
        """
        if self._closed:
            return
        self._closed = True
        _LIVE.discard(self)
        if self._shared is not None:
            if self._owned or not dropped:
                self._shared.close()
            return
        self.release()


def _close_quietly(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.close()


_LIVE: weakref.WeakSet[Connections] = weakref.WeakSet()


def _before_fork() -> None:
    for connections in list(_LIVE):
        try:
            connections.release(wait=connections.timeout)
        except Exception:  # a fork hook must not fail the fork
            log.exception("could not close a registry connection before fork()")


def _after_fork_in_child() -> None:
    # The per-thread state of other threads did not survive the fork; nothing to reopen eagerly.
    for connections in list(_LIVE):
        mine = getattr(connections._local, "handle", None)
        writing = mine is not None and mine.depth > 0
        connections._active = threading.Condition()
        connections._writers = 1 if writing else 0
        connections._guard = threading.Lock()
        if not writing:
            # Held, if at all, by a thread the child does not have; the forking thread's own transaction
            # keeps the lock it holds and releases it when its block ends.
            connections._write_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)

