"""Group commit for intake: the messages of concurrent requests stored in shared transactions.

Each intake request prepares its message (parse, map, validate: no database) and hands it to
its process's writer. The writer stores whatever has gathered since its last commit in one
transaction: one look-up of each kind and one insert per table for all of them, one commit.
A lone request is stored at once, so nothing waits for company; under load, requests share
the cost of a transaction instead of queueing for one each. A request still gets its answer
only after its own message is committed: a 202 means stored.

Messages whose outcomes could depend on each other (the same message id, or a claim reference
or claimant reference that another message also uses) never go in the same round: the later
one goes in the next round and finds the first one stored, exactly as if they had come one
after the other. If a shared transaction fails (another process stored one of its messages
first, say), each of its messages is stored again alone, so one message's failure never
becomes another's.

A small message that is the only one being stored is stored by its request, on the event
loop, without the hand-off to the writer thread and back (two thread wake-ups, a fifth of
such a message's time at one client on SQLite; on PostgreSQL, alternating servers at one
client, 717-758 -> 843-859 requests/s). It first lets the event loop run a few turns, so
that requests that have arrived meanwhile reach the writer too: then it goes to the writer
with them, and group commit is kept under load (storing every message on the loop, measured
on SQLite, took 30-45 % off the rate at 16 and 64 clients). It never waits there for anything
but its own round trip: if the writer has messages in hand, or the database is busy (SQLite
is told not to wait for its lock), the message goes to the writer thread. On PostgreSQL only
a message `store_new` may store goes there, in its one round trip, taking the readiness lock
only if no change of on-boarding holds it; anything else (a replay, a duplicate, a change
being committed) goes to the writer thread, which looks up and waits as it must.

On PostgreSQL the writer stores messages it takes to be new in one round trip, without
looking up what is stored first (`intake.store_new`): PostgreSQL's unique constraints and a
guard on the readiness context hold the writes to that, and when they do not hold, nothing
is stored and the messages are stored with look-ups (`intake.store`), which answer replays,
duplicates, corrections and conflicts. A single-claim message thus costs one round trip
instead of two.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Hashable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from app.db.session import Database, WriterBusy
from app.domain.catalogue import Catalogue
from app.errors import AppError
from app.services import intake

log = logging.getLogger(__name__)

_Job = tuple[intake.Prepared, "Future[intake.Outcome]"]
_STOP = None
# On SQLite, a message of at most this many claims, when it is the only one the process is
# storing, is stored by its request on the event loop (see `IntakeWriter.store`).
_HERE_MAX_CLAIMS = 10
# Event loop turns a request waits before it looks whether others are being stored too: in
# the first, the loop reads what has arrived on other connections; in the second and third,
# those requests run up to their own `store`.
_ARRIVALS_AWAITED = 3
T = TypeVar("T")
Key = Hashable


class IntakeWriter:
    """The process's intake writer: one thread that stores prepared messages in batches."""

    def __init__(
        self,
        db: Database,
        *,
        catalogue: Catalogue,
        claimant_id: str,
        max_batch_claims: int = 5_000,
    ) -> None:
        self._db = db
        self._catalogue = catalogue
        self._claimant_id = claimant_id
        self._max_batch_claims = max_batch_claims
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Messages handed to the writer thread and not yet answered (any thread).
        self._pending = 0
        # Requests inside `store` (the event loop's thread only).
        self._storing = 0
        self._store_here_too = True
        # The readiness context as the last look-ups read it (PostgreSQL; see `_store`).
        self._known: intake.KnownContext | None = None

    async def store(self, prepared: intake.Prepared) -> intake.Outcome:
        """Store a prepared message with whatever else is waiting; return its answer.

        The message is not counted or logged here: the caller does that with
        `intake.account`, once its answer has gone (the intake route, after sending it).

        Raises:
            Conflict, InvalidRequest: as `intake.receive` (nothing of the message stored).
        """
        self._storing += 1
        try:
            future = None
            if self._store_here_too and prepared.claim_count <= _HERE_MAX_CLAIMS:
                # Let requests that have arrived meanwhile come this far: a message alone is
                # stored here, one among others goes to the writer and its shared commit.
                for _ in range(_ARRIVALS_AWAITED):
                    await asyncio.sleep(0)
                if self._storing == 1:
                    future = self._store_here(prepared)
            if future is not None and future.done():
                # Stored here: its answer is in hand. (Wrapping a future that is already done
                # would still wake the event loop through its self-pipe, for nothing.)
                return future.result()
            return await asyncio.wrap_future(future or self.submit(prepared))
        finally:
            self._storing -= 1

    def submit(self, prepared: intake.Prepared) -> Future[intake.Outcome]:
        """Queue a prepared message; the future holds its answer once it is committed.

        The message is not counted or logged (`intake.account`): the caller does that.
        """
        future: Future[intake.Outcome] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                self._thread.start()
            self._pending += 1
            self._queue.put((prepared, future))
        future.add_done_callback(self._answered)
        return future

    def _answered(self, _: Future[intake.Outcome]) -> None:
        with self._lock:
            self._pending -= 1

    def _store_here(self, prepared: intake.Prepared) -> Future[intake.Outcome] | None:
        """Store a message in the calling thread, if that takes no waiting; its answer or None.

        None when the writer thread has messages in hand (a new one may depend on them), or
        the database is busy, whether by a write of this process or another's: the caller
        then submits the message. If the attempt fails otherwise, the message is prepared
        afresh (storing changes a prepared message) and submitted here, so that the writer
        thread stores it with all its own way does on failures.
        """
        if not self._db.is_sqlite and (self._known is None or not intake.may_store_new([prepared])):
            return None  # it would need look-ups: the writer thread's
        with self._lock:
            if self._pending:
                return None
            self._pending += 1
        try:
            (result,) = self._store([prepared], wait=False)
        except WriterBusy:  # nothing was done
            return None
        except intake.NotNew:  # not new, or a change is being committed: nothing stored
            fresh = self._fresh(prepared)
            fresh.not_new = True  # straight to the look-ups, not a second try without them
            return self.submit(fresh)
        except Exception as exc:  # nothing of it is stored, but its items were decided
            log.info(
                "storing a message at once failed (%s); the writer stores it", type(exc).__name__
            )
            return self.submit(self._fresh(prepared))
        finally:
            with self._lock:
                self._pending -= 1
        future: Future[intake.Outcome] = Future()
        future.set_running_or_notify_cancel()
        _settle(future, result)
        return future

    def close(self) -> None:
        """Store what is queued, then stop the thread (a later message starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is _STOP:
                return
            batch = [job]
            claims = job[0].claim_count
            # Take what has gathered meanwhile, without waiting for more.
            while claims < self._max_batch_claims:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                batch.append(job)
                claims += job[0].claim_count
            self._write(batch)

    def _write(self, batch: Sequence[_Job]) -> None:
        # A future whose request has gone (the client disconnected) is skipped: its message
        # is not stored, and the sender sends it again.
        pending = [job for job in batch if job[1].set_running_or_notify_cancel()]
        for jobs in rounds(pending, keys=lambda job: job[0].keys()):
            self._write_round(jobs)

    def _write_round(self, jobs: Sequence[_Job]) -> None:
        try:
            results = self._store([prepared for prepared, _ in jobs])
        except Exception as exc:  # the shared transaction failed; nothing of it is stored
            if len(jobs) > 1:
                log.warning(
                    "intake batch of %d messages failed (%s); storing each alone",
                    len(jobs),
                    type(exc).__name__,
                )
            for job in jobs:
                self._write_alone(*job)
            return
        for (_, future), result in zip(jobs, results, strict=True):
            _settle(future, result)

    def _store(
        self, batch: Sequence[intake.Prepared], *, wait: bool = True
    ) -> list[intake.Outcome | AppError]:
        """Store prepared messages in one transaction on the writer's connection, committed.

        On PostgreSQL, messages that `intake.may_store_new` allows are first stored as new
        (`intake.store_new`: one round trip, no look-ups), on the context the last look-ups
        read; if they are not all new, or the context has changed, they are prepared again
        and stored with look-ups (`intake.store`).
        """
        known = self._known
        if known is not None and intake.may_store_new(batch):
            try:
                with self._db.writer_connection(wait=wait) as connection:
                    return list(
                        intake.store_new(
                            connection,
                            batch,
                            catalogue=self._catalogue,
                            claimant_id=self._claimant_id,
                            known=known,
                            wait=wait,
                        )
                    )
            except intake.NotNew as exc:
                if not wait and not self._db.is_sqlite:
                    raise  # on the event loop: no look-ups there (`_store_here`)
                log.debug("stored with look-ups instead: %s", exc)
                batch = [self._fresh(prepared) for prepared in batch]
        elif not wait and not self._db.is_sqlite:
            raise WriterBusy("a message that needs look-ups is the writer thread's")
        with self._db.writer_connection(wait=wait) as connection:
            return intake.store(
                connection,
                batch,
                catalogue=self._catalogue,
                claimant_id=self._claimant_id,
                commit=True,
                remember=self._remember,
            )

    def _remember(self, known: intake.KnownContext) -> None:
        self._known = known

    def _fresh(self, prepared: intake.Prepared) -> intake.Prepared:
        """Prepare a message again, as it came (`store` changes a prepared message's items)."""
        return intake.prepare(
            source=prepared.source,
            raw=prepared.raw,
            media_type=prepared.media_type,
            principal=prepared.principal,
            catalogue=self._catalogue,
            claimant_id=self._claimant_id,
            now=prepared.now,
            today=prepared.today,
            raw_sha256=prepared.raw_sha256,
        )

    def _write_alone(self, prepared: intake.Prepared, future: Future[intake.Outcome]) -> None:
        # Storing decides on (and so changes) the prepared items: prepare afresh each time.
        for attempt in (1, 2):
            try:
                fresh = self._fresh(prepared)
                (result,) = self._store([fresh])
            except IntegrityError as exc:
                # Another process stored the same message or claim, or a claim under the same
                # claimant reference, first; the next attempt sees it and answers with a
                # replay, a conflict or the claim rejected (`claimant_reference.taken`).
                if attempt == 2:
                    future.set_exception(exc)
                    return
                continue
            except Exception as exc:
                future.set_exception(exc)
                return
            _settle(future, result)
            return


def rounds(jobs: Sequence[T], *, keys: Callable[[T], AbstractSet[Key]]) -> list[list[T]]:
    """Split jobs into rounds whose keys are disjoint, each job as early as it can go.

    A job that shares a key with an earlier one goes in a later round than that one, so jobs
    with a key in common keep their order.
    """
    result: list[list[T]] = []
    pending = list(jobs)
    while pending:
        taken: set[Key] = set()
        blocked: set[Key] = set()
        this_round: list[T] = []
        later: list[T] = []
        for job in pending:
            wanted = keys(job)
            # Keys of a job left for later stay blocked too: a job after it with one of its
            # keys must not overtake it.
            if taken.isdisjoint(wanted) and blocked.isdisjoint(wanted):
                taken.update(wanted)
                this_round.append(job)
            else:
                blocked.update(wanted)
                later.append(job)
        result.append(this_round)
        pending = later
    return result


def _settle(future: Future[intake.Outcome], result: intake.Outcome | AppError) -> None:
    if isinstance(result, AppError):
        future.set_exception(result)
    else:
        future.set_result(result)
