"""Time-ordered ids: creation order is text order, unique across threads and forked processes."""

from __future__ import annotations

import os
import threading

import pytest

import volreg
from volreg.text import ordered_id

KEY = "test-key-16-bytes"


def test_ordered_ids_sort_in_creation_order() -> None:
    ids = [ordered_id("svc") for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("svc-") and len(i) == 28 and int(i[4:], 16) >= 0 for i in ids)


def test_ordered_ids_are_unique_across_threads() -> None:
    found: list[list[str]] = [[] for _ in range(4)]

    def make(n: int) -> None:
        found[n] = [ordered_id("svc") for _ in range(5_000)]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in found for i in ids]
    assert len(set(every)) == 20_000
    assert all(ids == sorted(ids) for ids in found)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_does_not_continue_its_parents_sequence() -> None:
    """Within one millisecond a child would otherwise hand out the very ids its parent hands out next."""
    ordered_id("svc")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, "\n".join(ordered_id("svc") for _ in range(2_000)).encode())
        os._exit(0)
    os.close(write)
    mine = [ordered_id("svc") for _ in range(2_000)]
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split("\n")
    os.waitpid(pid, 0)
    assert len(theirs) == 2_000
    assert not set(mine) & set(theirs)


def test_new_service_records_get_ordered_ids(tmp_path) -> None:
    registry = volreg.open(tmp_path / "ids.db", key=KEY)
    org = registry.add_organisation("新华社区", kind="community")
    who = registry.register_volunteer("张三", id_type="none", organisation=org, registered_on="2024-01-01")
    act = registry.add_activity("敬老", category="敬老助老", start="2024-03-05 08:00", end="2024-03-05 18:00",
                                organiser=org)
    first = registry.log_service(who, act, start="2024-03-05 09:00", minutes=60)
    second = registry.log_service(who, act, start="2024-03-05 11:00", minutes=60)
    corrected = registry.correct_service(first, minutes=50, by="新华社区", reason="签退时间有误")
    assert first.id < second.id < corrected.id
    registry.close()


def test_volunteers_by_numbers_in_one_read(tmp_path) -> None:
    """``volunteers(numbers=)`` answers numbers and ids at once; unknown ones are simply not there."""
    registry = volreg.open(tmp_path / "numbers.db", key=KEY)
    org = registry.add_organisation("新华社区", kind="community")
    people = [registry.register_volunteer(f"志愿者{n}", id_type="none", organisation=org, registered_on="2024-01-01") for n in range(4)]
    found = list(registry.volunteers(numbers=[people[2].number, people[0].id, "V-NOBODY"]))
    assert [v.id for v in found] == sorted([people[0].id, people[2].id], key=lambda i: registry.volunteer(i).number)
    assert list(registry.volunteers(numbers=[])) == []
    with pytest.raises(volreg.InvalidValue, match="numbers"):
        list(registry.volunteers(numbers="V1"))
    registry.close()
