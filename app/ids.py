"""New ids: time-ordered (version 7) UUIDs, their random bits without a system call for each.

An id begins with the millisecond it was made (RFC 9562, version 7), so the rows made after
one another sit side by side in every index on an id: the claim's primary key, the claim
events' and transfers' claim ids. With random (version 4) ids, each of a 1,000-claim
message's claims went to its own page of those indexes: on SQLite, where a commit writes
every page it changed to the write-ahead log, a KSD message into a table of 30,000 claims
wrote 2,250 pages (9 MB), and 1,510 with these ids; its commit took a third less. An id thus
tells when it was made, to the millisecond, which every answer and claim says anyway
(`received_at`). The 74 bits after the time are random, as many as make version-4 ids
unique in practice.

`uuid.uuid4()` asks the kernel for 16 random bytes every time (`os.urandom`), and CPython lets
go of the GIL around that call. A thread that lets go of the GIL has to wait for it back
while another thread runs Python, up to the interpreter's switch interval (5 ms). The intake
writer thread made three or four ids per single-claim message, each a chance to stall while
the event loop parsed the next request: with 16 concurrent clients on PostgreSQL, py-spy
found the writer waiting there in 6 % of all samples. Here each thread draws its random bytes
from the kernel 4 KiB at a time (409 ids) and cuts its ids' random bits from them: the same
source of randomness, one system call per 409 ids. A forked child starts with no bytes, so it never
repeats its parent's ids.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_POOL_BYTES = 4096


class _Pool(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.position = 0


_pool = _Pool()


def _forget() -> None:
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_forget)


# An id's layout (RFC 9562, 5.7), from its top bit: 48 bits of Unix time in milliseconds, the
# version (7), 12 random bits, the variant (0b10), 62 random bits. Ten random bytes give 80.
_RANDOM_BYTES = 10
_RAND_A = 0xFFF << 62  # 12 of them, which move up 2 bits, above the variant
_RAND_B = (1 << 62) - 1  # and 62
_VERSION_7 = (7 << 76) | (0b10 << 62)
_time_ns = time.time_ns
_UUID = uuid.UUID
_new_uuid = uuid.UUID.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def new_id() -> uuid.UUID:
    """Return a new time-ordered UUID (version 7, RFC 9562): the millisecond, then random bits."""
    pool = _pool
    position = pool.position
    if position + _RANDOM_BYTES > len(pool.data):
        pool.data = os.urandom(_POOL_BYTES)
        position = 0
    pool.position = position + _RANDOM_BYTES
    bits = int.from_bytes(pool.data[position : position + _RANDOM_BYTES], "big")
    milliseconds = _time_ns() // 1_000_000
    value = (milliseconds << 80) | ((bits & _RAND_A) << 2) | (bits & _RAND_B) | _VERSION_7
    # The UUID built from its integer directly, as `uuid.UUID.__init__` ends up doing after
    # checks that random bytes need not pass: 0.4 instead of 0.9 µs, for some 2,000 ids in a
    # 1,000-claim message.
    made: uuid.UUID = _new_uuid(_UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made
