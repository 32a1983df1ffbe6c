"""How the intake writer splits a batch into rounds of messages that cannot affect each other."""

from __future__ import annotations

import datetime as dt
import json

from adapters.oir import samples as oir_samples
from app.domain import catalogue as catalogue_module
from app.domain.claim import SourceSystem
from app.services import intake
from app.services.intake_writer import rounds
from app.settings import ROOT
from tests.builders import ky_claim

CATALOGUE = catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")


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


def prepared(source: SourceSystem, body: bytes) -> intake.Prepared:
    return intake.prepare(
        source=source,
        raw=body,
        media_type="application/json" if source is SourceSystem.KY else "application/xml",
        principal="test",
        catalogue=CATALOGUE,
        claimant_id="1234",
        now=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
    )


def ky_message(message_id: str, reference: str, claimant_reference: str) -> intake.Prepared:
    claim = ky_claim(reference, claimantReference=claimant_reference)
    body = json.dumps({"messageId": message_id, "claims": [claim]}).encode()
    return prepared(SourceSystem.KY, body)


def test_messages_sharing_only_a_claimant_reference_wait_for_each_other() -> None:
    # Across sources: PSRM takes a claimant reference once per claimant, whoever sends it.
    ky = ky_message("M-1", "KY-1", "SAG-1")
    oir = prepared(
        SourceSystem.OIR,
        oir_samples.message(1, message_id="M-2").replace(
            b"<FordringID>S-0000000</FordringID>",
            b"<FordringID>S-0000000</FordringID><FordringshaverRef>SAG-1</FordringshaverRef>",
        ),
    )

    assert ky.keys() & oir.keys() == {("claimant_reference", "1234", "SAG-1")}
    assert rounds([ky, oir], keys=intake.Prepared.keys) == [[ky], [oir]]
    # A claimant reference equal to another message's id or claim reference is another key.
    other = ky_message("SAG-1", "SAG-1", "SAG-9")
    assert rounds([ky, other], keys=intake.Prepared.keys) == [[ky, other]]
