"""New ids are time-ordered version-7 UUIDs, unique across threads and across a fork."""

from __future__ import annotations

import os
import threading
import time
import uuid

from app.ids import new_id


def test_ids_are_version_7_uuids_and_unique() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(5_000)]  # many times what one pool of bytes holds
    after = time.time_ns() // 1_000_000

    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, uuid.UUID) and i.version == 7 for i in ids)
    assert all(i.variant == uuid.RFC_4122 for i in ids)
    # Whole UUIDs, like those `uuid` makes: equal and hashed as the same id read back.
    assert all(uuid.UUID(str(i)) == i and hash(uuid.UUID(i.hex)) == hash(i) for i in ids)
    assert all(i.is_safe is uuid.SafeUUID.unknown for i in ids)
    # Each begins with the millisecond it was made, so later ids sort after earlier ones ...
    stamps = [i.int >> 80 for i in ids]
    assert stamps == sorted(stamps)
    assert before <= stamps[0]
    assert stamps[-1] <= after
    # ... and the other 74 bits (all but the version and the variant) are random: about half
    # of them set, and each one set in about half of the ids.
    random_part = [i.int & ((1 << 80) - 1) & ~((0xF << 76) | (0b11 << 62)) for i in ids]
    assert 0.45 < sum(bin(r).count("1") for r in random_part) / (74 * len(ids)) < 0.55
    for bit in [*range(62), *range(64, 76)]:
        assert 0.4 < sum(r >> bit & 1 for r in random_part) / len(ids) < 0.6


def test_ids_made_later_sort_after_in_the_database_order() -> None:
    first = new_id()
    second = new_id()
    while second.int >> 80 == first.int >> 80:  # until an id of a later millisecond
        second = new_id()

    assert first < second
    assert first.hex < second.hex  # as SQLite stores them
    assert str(first) < str(second)


def test_threads_never_hand_out_the_same_id() -> None:
    found: list[list[uuid.UUID]] = [[] for _ in range(4)]
    start = threading.Barrier(len(found))

    def make(into: list[uuid.UUID]) -> None:
        start.wait()
        into.extend(new_id() for _ in range(2_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [i for ids in found for i in ids]
    assert len(set(every)) == len(every) == 8_000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the parent has random bytes left over, which a child must not reuse
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids and leave at once
        os.close(read)
        os.write(write, b"".join(new_id().bytes for _ in range(10)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    child = {uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)}
    parent = {new_id() for _ in range(10)}

    assert len(child) == 10
    assert child.isdisjoint(parent)
