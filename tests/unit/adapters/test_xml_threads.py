"""XML messages read in several threads at once each get their own schema problems.

The service reads big messages in its thread pool, so two fagsystemer's messages can be
checked against the same XSD at the same moment. lxml keeps the problems of a validation on
the schema object, so a schema shared between threads would hand one message's problems to
another, or lose them: each thread must check with a schema of its own.
"""

from __future__ import annotations

import threading

import pytest

from adapters import registry
from adapters.base import AdapterError, MappingContext
from adapters.ksd import samples as ksd_samples
from adapters.oir import samples as oir_samples
from app.domain.claim import SourceSystem
from tests.golden import CLAIMANT_ID, catalogue

CONTEXT = MappingContext(claimant_id=CLAIMANT_ID, catalogue=catalogue())


def _answer(source: SourceSystem, raw: bytes) -> object:
    """What reading a message gives: each claim's problems, or why it was refused whole."""
    adapter = registry()[source]
    try:
        candidates = adapter.to_candidates(adapter.parse(raw), CONTEXT)
    except AdapterError as exc:
        return ("refused", [p.as_dict() for p in exc.problems])
    return ("read", [[p.as_dict() for p in c.problems] for c in candidates])


def _broken(raw: bytes, old: bytes, new: bytes, count: int) -> bytes:
    assert raw.count(old) >= count
    return raw.replace(old, new, count)


KSD = ksd_samples.message(300, message_id="THREADS-KSD")
OIR = oir_samples.message(300, message_id="THREADS-OIR")
CASES = {
    # Each message breaks the schema in its own places, so mixed-up problems show.
    SourceSystem.KSD: (
        [
            KSD,
            _broken(KSD, b"<Hovedstol>", b"<Hovedstol>x", 40),
            _broken(KSD, b"<Beloeb>", b"<Beloeb>y", 7),
            _broken(KSD, b"<Periode>", b"<Periode><Ukendt/>", 90),
        ],
    ),
    SourceSystem.OIR: (
        [
            OIR,
            _broken(OIR, b"<Hovedstol>", b"<Hovedstol>x", 40),
            _broken(OIR, b"<Beloeb>", b"<Beloeb>y", 7),
            _broken(OIR, b"<Forfaldsdato>", b"<Forfaldsdato>z", 90),
        ],
    ),
}


@pytest.mark.parametrize("source", list(CASES), ids=lambda s: s.value)
def test_messages_checked_at_once_get_their_own_problems(source: SourceSystem) -> None:
    (messages,) = CASES[source]
    expected = [_answer(source, raw) for raw in messages]
    assert len({repr(answer) for answer in expected}) == len(messages)  # each its own
    found: dict[tuple[int, int], object] = {}
    start = threading.Barrier(len(messages))

    def read(which: int) -> None:
        start.wait()
        for round_ in range(15):
            found[(which, round_)] = _answer(source, messages[which])

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    wrong = [key for key, answer in found.items() if answer != expected[key[0]]]
    assert wrong == []
