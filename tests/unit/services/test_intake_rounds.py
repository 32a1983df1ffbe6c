"""How the intake writer splits a batch into rounds of messages that cannot affect each other."""

from __future__ import annotations

from app.services.intake_writer import rounds


def keys_of(spec: dict[str, set[str]]) -> list[tuple[str, set[str]]]:
    return list(spec.items())


def split(spec: dict[str, set[str]]) -> list[list[str]]:
    return [[name for name, _ in r] for r in rounds(keys_of(spec), keys=lambda job: job[1])]


def test_messages_with_nothing_in_common_share_one_round() -> None:
    assert split({"a": {"m1", "r1"}, "b": {"m2", "r2"}, "c": {"m3"}}) == [["a", "b", "c"]]


def test_a_message_sharing_a_key_waits_for_the_next_round() -> None:
    # b reuses a's message id; c names a's claim reference (a related claim, say).
    spec = {"a": {"m1", "r1"}, "b": {"m1"}, "c": {"m3", "r1"}, "d": {"m4"}}

    assert split(spec) == [["a", "d"], ["b", "c"]]


def test_messages_with_a_key_in_common_keep_their_order() -> None:
    # c shares nothing with a, but it shares r2 with b, which must wait for a: c waits too.
    assert split({"a": {"r1"}, "b": {"r1", "r2"}, "c": {"r2"}}) == [["a"], ["b"], ["c"]]


def test_every_job_is_in_exactly_one_round() -> None:
    spec = {f"j{i}": {f"k{i % 3}", f"x{i}"} for i in range(10)}

    found = [name for r in split(spec) for name in r]

    assert sorted(found) == sorted(spec)
    assert len(split(spec)) == 4  # k0 is used by j0, j3, j6, j9
