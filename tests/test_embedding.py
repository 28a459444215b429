"""A registry embedded as web back ends and job runners embed it: forked workers, threads, spawn workers.

In each pattern nothing written is lost and nothing but a :class:`volreg.VolregError` ever escapes. The fork
cases write 4 x 500 records (the figure of the report that found records lost after a fork); ``--soak`` runs
more rounds.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import embedders
import pytest
from conftest import soaking

import volreg

WRITERS = 4


@pytest.fixture(scope="module")
def rounds(pytestconfig: pytest.Config) -> int:
    """How often the fork case is repeated: 2, or 6 with ``--soak``."""
    return 6 if soaking(pytestconfig) else 2


def _join(processes: list[Any], *, while_waiting: Any = None) -> None:
    """Wait for every process (running ``while_waiting`` meanwhile); each must exit 0."""
    while any(p.is_alive() for p in processes):
        if while_waiting is not None:
            while_waiting()
        time.sleep(0.02)
    for process in processes:
        process.join(timeout=60)
    assert [0] * len(processes) == [p.exitcode for p in processes]


def _fork_writers(path: str, world: dict[str, Any], per_writer: int, target: Any = embedders.open_and_log,
                  first: Any = None) -> list[Any]:
    ctx = multiprocessing.get_context("fork")
    processes = [ctx.Process(target=target, args=(first if first is not None else path, world, n, per_writer))
                 for n in range(WRITERS)]
    for process in processes:
        process.start()
    return processes


def test_forked_writers_lose_nothing_when_the_parent_drops_its_registry(tmp_path: Path, rounds: int) -> None:
    """The parent writes, drops its registry without close(), forks 4 writers of 500 records: all 2,000 land,
    round after round (later rounds smaller, unless soaking), with the parent's garbage collector running
    while the children write."""
    for n in range(rounds):
        per_writer = 500 if n == 0 or rounds > 2 else 100
        path = str(tmp_path / f"round{n}.db")
        world = embedders.setup(path)
        registry = world.pop("registry")
        registry.add_person("父进程写的人")
        del registry  # no close(): the finalizer must close it now, not at the next collection
        processes = _fork_writers(path, world, per_writer)
        _join(processes, while_waiting=gc.collect)
        assert WRITERS * per_writer == embedders.count(path)


def test_forked_writers_lose_nothing_when_the_parent_keeps_and_uses_its_registry(tmp_path: Path) -> None:
    """The parent keeps its registry open across the fork and keeps writing and reading while children write."""
    path = str(tmp_path / "kept.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    processes = _fork_writers(path, world, 100)
    extra = [0]

    def parent_work() -> None:
        registry.add_person(f"父进程{extra[0]}")
        volreg.hours(registry)
        extra[0] += 1

    _join(processes, while_waiting=parent_work)
    assert WRITERS * 100 == embedders.count(path)
    assert WRITERS * 100 == volreg.hours(registry, status="pending")[0]["records"]
    assert extra[0] + 0 == len([p for p in registry.people() if p.name.startswith("父进程")])
    registry.close()


def test_forked_writers_lose_nothing_when_the_parent_closes_while_they_write(tmp_path: Path) -> None:
    """A parent that closes its registry properly, but only after forking, loses none of the children's records."""
    path = str(tmp_path / "closed-after.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    processes = _fork_writers(path, world, 100)
    time.sleep(0.2)  # the children are writing (the outcome must not depend on it)
    registry.close()
    gc.collect()
    _join(processes)
    assert WRITERS * 100 == embedders.count(path)


def test_a_pre_fork_server_serves_with_the_masters_registry(tmp_path: Path) -> None:
    """A registry opened at start-up in the master, workers forked after it and using that very object (it
    reopens in each child), and the master closing it while they serve: every request's write lands."""
    path = str(tmp_path / "server.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    volreg.hours(registry)  # the master has used its connection before forking
    processes = _fork_writers(path, world, 100, target=embedders.serve_with_inherited, first=registry)
    registry.close()  # the master shuts its own handle while the workers serve
    _join(processes)
    assert WRITERS * 100 == embedders.count(path)
    with pytest.raises(volreg.Closed):
        volreg.hours(registry)


def test_spawn_workers_write_beside_an_open_parent(tmp_path: Path) -> None:
    """``spawn`` workers open the file themselves while the parent keeps its registry open and reads."""
    path = str(tmp_path / "spawn.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=embedders.open_and_log, args=(path, world, n, 50)) for n in range(WRITERS)]
    for process in processes:
        process.start()
    _join(processes, while_waiting=lambda: volreg.hours(registry))
    assert WRITERS * 50 == volreg.hours(registry, status="pending")[0]["records"]
    registry.close()


def _fork_inside_a_transaction(registry: volreg.Registry) -> tuple[int, list[str]]:
    """Fork in the middle of ``registry.transaction()``; in both processes, what each write raised."""
    raised = []
    pid = -1
    try:
        with registry.transaction():
            registry.add_organisation("写到一半", kind="community")
            pid = os.fork()
            try:
                registry.add_organisation("还在事务里", kind="community")
            except volreg.VolregError as error:
                raised.append(type(error).__name__)
    except volreg.VolregError as error:
        raised.append(type(error).__name__)
    return pid, raised


def test_a_fork_inside_a_write_transaction_rolls_it_back_cleanly(tmp_path: Path) -> None:
    """Forking in the middle of ``registry.transaction()`` closes its connection: the rest of the transaction
    and its end raise Closed, in the parent and in the child, and nothing of it is written; once the block is
    left the registry works again in both."""
    path = str(tmp_path / "mid.db")
    registry = volreg.open(path, key=embedders.KEY)
    pid, raised = _fork_inside_a_transaction(registry)
    if pid == 0:
        try:
            assert ["Closed", "Closed"] == raised
            registry.add_organisation("子进程之后", kind="community")
        except BaseException:
            os._exit(1)
        os._exit(0)
    assert ["Closed", "Closed"] == raised
    assert 0 == os.waitpid(pid, 0)[1]
    registry.add_organisation("父进程之后", kind="community")
    assert ["子进程之后", "父进程之后"] == [o.name for o in registry.organisations()]
    registry.close()


def test_threads_share_one_registry(tmp_path: Path) -> None:
    """Four threads share one Registry, writing records and asking hours() in turn: every write lands and only
    volreg errors could escape (none do)."""
    path = str(tmp_path / "threads.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    errors: list[BaseException] = []
    seen: list[int] = []

    def work(number: int) -> None:
        try:
            for n in range(60):
                who, start = embedders.workers.slot(number, n, 60)
                registry.log_service(world["volunteers"][who], world["activity"], start=start, minutes=30)
                if n % 10 == 0:
                    seen.append(volreg.hours(registry, status="pending")[0]["records"])
                    list(registry.service_records(volunteer=world["volunteers"][who]))
        except BaseException as error:  # collected: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert WRITERS * 60 == volreg.hours(registry, status="pending")[0]["records"]
    assert WRITERS * 60 == embedders.count(path)
    assert all(0 < n <= WRITERS * 60 for n in seen)
    registry.close()


def test_threads_share_an_in_memory_registry() -> None:
    """An in-memory registry (one serialised connection) is shared by threads without a driver error."""
    registry = volreg.open(":memory:")
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            with registry.transaction():
                for n in range(25):
                    registry.add_person(f"线程{number}-{n}")
            list(registry.people())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert WRITERS * 25 == len(list(registry.people()))


def test_open_and_hours_answer_while_another_process_holds_a_write_transaction(tmp_path: Path) -> None:
    """Opening a current registry takes no write lock: with a 1 s busy timeout, open() and hours() answer (from
    the last committed state) while another process holds a write transaction throughout; a write
    waits that 1 s and is refused as Busy."""
    path = str(tmp_path / "held.db")
    world = embedders.setup(path)
    registry = world.pop("registry")
    registry.log_service(world["volunteers"][0], world["activity"], start="2024-03-05 09:00", minutes=90)
    registry.close()
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    # Held until released (at most 60 s, so that a slow machine cannot end it early): longer than the 10 s of
    # the acceptance case, and deterministic.
    holder = ctx.Process(target=embedders.hold_write_lock, args=(path, ready, release, 60.0))
    holder.start()
    try:
        assert ready.wait(60)
        reader = volreg.open(path, key=embedders.KEY, timeout=1.0)  # Busy after 1 s if it needed the lock
        assert 90 == volreg.hours(reader, status="pending")[0]["minutes"]
        assert reader.session.store.meta("held") is None  # the holder's row is not committed
        read_only = volreg.open(path, readonly=True, timeout=1.0)
        assert 90 == volreg.hours(read_only, status="pending")[0]["minutes"]
        with pytest.raises(volreg.Busy):
            reader.add_organisation("等不到锁", kind="community")
        assert holder.is_alive()  # the lock was held throughout
    finally:
        release.set()
        holder.join(timeout=60)
    assert 0 == holder.exitcode
    reader.add_organisation("锁放开了", kind="community")
    reader.close()
    read_only.close()


def _open_files(path: str) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(path):
                found.append(target)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to list open files")
def test_a_half_read_iterator_does_not_keep_the_file_open_across_a_fork(tmp_path: Path) -> None:
    """A lazy read left half-read holds a statement, which would keep SQLite's file (and its lock state) open
    after close; volreg closes it with the connection before a fork, and the iterator then raises Closed."""
    path = str(tmp_path / "iter.db")
    registry = volreg.open(path, key=embedders.KEY)
    for n in range(5):
        registry.add_person(f"人{n}")
    people = registry.people()
    next(people)
    assert _open_files(path)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not _open_files(path) else 1)  # nothing of the parent's connection came along
    assert 0 == os.waitpid(pid, 0)[1]
    with pytest.raises(volreg.Closed):
        next(people)
    assert 5 == len(list(registry.people()))  # the registry itself reopened
    registry.close()
    assert [] == _open_files(path)


def test_a_thread_waits_for_another_threads_transaction_then_gets_busy(tmp_path: Path) -> None:
    """Threads of one process queue for the write lock; one that waits longer than the timeout gets Busy and
    writes nothing, while reads go on during the other thread's transaction."""
    registry = volreg.open(tmp_path / "queue.db", key=embedders.KEY, timeout=0.2)
    inside, finished = threading.Event(), threading.Event()

    def long_write() -> None:
        with registry.transaction():
            registry.add_person("长事务")
            inside.set()
            finished.wait(60)

    holder = threading.Thread(target=long_write)
    holder.start()
    try:
        assert inside.wait(60)
        with pytest.raises(volreg.Busy):
            registry.add_person("等不到")
        assert [] == list(registry.people())  # a read answers at once, from the last committed state
    finally:
        finished.set()
        holder.join()
    assert ["长事务"] == [p.name for p in registry.people()]
    registry.close()


def test_a_fork_waits_for_another_threads_write_transaction(tmp_path: Path) -> None:
    """A fork while another thread is inside a write transaction waits for it to commit (up to the busy timeout)
    before closing the connections: that thread's write lands, and the child sees it."""
    registry = volreg.open(tmp_path / "wait.db", key=embedders.KEY)
    inside = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with registry.transaction():
                registry.add_person("线程里写的")
                inside.set()
                time.sleep(0.3)  # still inside when the main thread forks
        except BaseException as error:
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(60)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if ["线程里写的"] == [p.name for p in registry.people()] else 1)
    assert 0 == os.waitpid(pid, 0)[1]
    writer.join()
    assert [] == errors
    assert ["线程里写的"] == [p.name for p in registry.people()]
    registry.close()
