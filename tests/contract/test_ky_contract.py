"""The published KY contract: the examples keep the schema, and the adapter agrees with it.

Agreement, both ways: a message the schema accepts is taken with every claim accepted (when its
content is also right), and wherever the schema finds a breach the adapter refuses the message
(an envelope breach) or rejects that claim with a problem at or below the same JSON pointer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from adapters.base import AdapterError, MappingContext
from adapters.ky import ADAPTER
from adapters.ky.benefits import benefits
from adapters.ky.message import MAX_DEPTH
from adapters.ky.samples import message as sample_message
from app.domain import catalogue as catalogue_module
from app.domain.admission import admit
from app.domain.claim import SourceSystem
from tests.golden import CONTRACTS, examples

SCHEMA_PATH = CONTRACTS / "ky" / "message.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def catalogue() -> catalogue_module.Catalogue:
    return catalogue_module.load(CONTRACTS / "psrm" / "catalogue.json")


def schema_errors(body: Any) -> list[str]:
    """The JSON pointer of every place the schema finds a breach."""
    return [
        "".join(f"/{part}" for part in error.absolute_path)
        for error in validator().iter_errors(body)
    ]


def adapter_verdict(body: Any) -> tuple[bool, list[str]]:
    """Whether the adapter refused the message, and where it put each problem."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        message = ADAPTER.parse(raw)
    except AdapterError as error:
        return True, [p.source_path or "" for p in error.problems]
    context = MappingContext(claimant_id="1234", catalogue=catalogue())
    paths: list[str] = []
    for candidate in ADAPTER.to_candidates(message, context):
        _, problems = admit(candidate, catalogue())
        paths.extend(p.source_path or candidate.source_path for p in problems)
    return False, paths


def test_the_schema_is_valid_json_schema_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("example", examples(SourceSystem.KY), ids=lambda path: path.name)
def test_every_example_keeps_the_schema(example: Path) -> None:
    assert schema_errors(json.loads(example.read_bytes())) == []


def test_samples_keep_the_schema() -> None:
    assert schema_errors(json.loads(sample_message(50, message_id="KY-SAMPLE-1"))) == []


def test_the_schema_lists_exactly_the_benefit_codes_kravbro_knows() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

    assert schema["$defs"]["claim"]["properties"]["benefit"]["enum"] == list(benefits())


def test_the_readme_states_the_nesting_limit_the_adapter_keeps() -> None:
    readme = (CONTRACTS / "ky" / "README.md").read_text(encoding="utf-8")

    assert f"at most **{MAX_DEPTH} levels**" in readme
    assert f"deeper than {MAX_DEPTH} levels" in readme


# --- agreement --------------------------------------------------------------------------------


def a_message() -> dict[str, Any]:
    raw = (CONTRACTS / "ky" / "examples" / "interest-claims.json").read_bytes()
    body: dict[str, Any] = json.loads(raw)
    body["claims"].append(
        json.loads((CONTRACTS / "ky" / "examples" / "single-claim.json").read_bytes())["claim"]
    )
    return body


Change = Callable[[dict[str, Any]], None]


def _locate(body: dict[str, Any], path: str) -> tuple[Any, Any]:
    *parents, last = path.strip("/").split("/")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    return target, int(last) if isinstance(target, list) else last


def _set(path: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        target, key = _locate(body, path)
        target[key] = value

    return change


def _drop(path: str) -> Change:
    def change(body: dict[str, Any]) -> None:
        target, key = _locate(body, path)
        del target[key]

    return change


def _single(body: dict[str, Any]) -> None:
    body["claim"] = body.pop("claims")[1]


VALID_VARIANTS: dict[str, Change] = {
    "as sent": lambda body: None,
    "single claim form": _single,
    "no sentAt": _drop("/sentAt"),
    "null sentAt": _set("/sentAt", None),
    "sentAt in UTC": _set("/sentAt", "2026-03-02T07:15:04.250Z"),
    "claimantId": _set("/claimantId", "1742"),
    "cpr with dash": _set("/claims/1/citizen/cpr", "120485-1236"),
    "amounts as text": _set("/claims/1/amount", "16142.5"),
    "integer amount": _set("/claims/1/amount", 16142),
    "null optional members": lambda body: body["claims"][1].update(
        {"noticeDate": None, "notes": None, "documents": None, "currency": None, "art": None}
    ),
    "co-debtors": _set("/claims/1/coDebtors", [{"cpr": "1403861327", "inEstate": False}]),
    "explicit type and reference": lambda body: body["claims"][1].update(
        {"fordringstype": "KTTIBAK", "claimantReference": "KOMMUNE/4471:A_1.0"}
    ),
    "interest choice": _set("/claims/1/interestChoice", {"rule": "001", "rateCode": "98"}),
    "interest limitation date": _set("/claims/0/interestClaims/0/limitationDate", "2028-12-31"),
}


@pytest.mark.parametrize("change", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_what_the_schema_accepts_the_adapter_takes(change: Change) -> None:
    body = a_message()
    change(body)

    assert schema_errors(body) == []
    assert adapter_verdict(body) == (False, [])


BREACHES: dict[str, tuple[Change, bool]] = {
    # envelope: the message is refused
    "no messageId": (_drop("/messageId"), True),
    "messageId with space": (_set("/messageId", "KY 1"), True),
    "messageId a number": (_set("/messageId", 20260302000017), True),
    "messageId empty": (_set("/messageId", ""), True),
    "sentAt without offset": (_set("/sentAt", "2026-03-02T08:15:04"), True),
    "claimantId a number": (_set("/claimantId", 1234), True),
    "unknown envelope member": (_set("/source", "KY"), True),
    "no claims": (_drop("/claims"), True),
    "claims and claim": (_set("/claim", {}), True),
    "claims an object": (_set("/claims", {}), True),
    "claims empty": (_set("/claims", []), True),
    # one claim: only it is rejected
    "claim not an object": (_set("/claims/1", "claim"), False),
    "no srbDate": (_drop("/claims/1/srbDate"), False),
    "null description": (_set("/claims/1/description", None), False),
    "unknown claim member": (_set("/claims/1/colour", "red"), False),
    "unknown benefit": (_set("/claims/1/benefit", "boligstoette"), False),
    "reference too long": (_set("/claims/1/reference", "R" * 34), False),
    "reference with space": (_set("/claims/1/reference", "TB 1"), False),
    "reference a number": (_set("/claims/1/reference", 12345), False),
    "benefit a number": (_set("/claims/1/benefit", 7), False),
    "legalBasis a number": (_set("/claims/1/legalBasis", 91), False),
    "date a number": (_set("/claims/1/dueDate", 20250901), False),
    "description a number": (_set("/claims/1/description", 5), False),
    "document reference empty": (_set("/claims/1/documents", [{"reference": ""}]), False),
    "fordringstype lower case": (_set("/claims/1/fordringstype", "kttibak"), False),
    "art unknown": (_set("/claims/1/art", "INKA"), False),
    "claimantReference too long": (_set("/claims/1/claimantReference", "K" * 37), False),
    "citizen a string": (_set("/claims/1/citizen", "1204851236"), False),
    "citizen without cpr": (_drop("/claims/1/citizen/cpr"), False),
    "cpr with spaces": (_set("/claims/1/citizen/cpr", "120485 1236"), False),
    "cpr a number": (_set("/claims/1/citizen/cpr", 1204851236), False),
    "empty name": (_set("/claims/1/citizen/name", ""), False),
    "inEstate text": (_set("/claims/1/citizen/inEstate", "true"), False),
    "unknown debtor member": (_set("/claims/1/citizen/address", "Søndergade 14"), False),
    "coDebtors an object": (_set("/claims/1/coDebtors", {"cpr": "1403861327"}), False),
    "50 co-debtors": (
        _set("/claims/1/coDebtors", [{"cpr": f"0101{50 + i}1234"} for i in range(50)]),
        False,
    ),
    "period a string": (_set("/claims/1/period", "2025"), False),
    "period without to": (_drop("/claims/1/period/to"), False),
    "date in Danish form": (_set("/claims/1/dueDate", "01-09-2025"), False),
    "impossible date": (_set("/claims/1/dueDate", "2025-02-30"), False),
    "compact date": (_set("/claims/1/dueDate", "20250901"), False),
    "amount negative": (_set("/claims/1/amount", -1), False),
    "amount too large": (_set("/claims/1/principal", 100000000), False),
    "amount with comma": (_set("/claims/1/amount", "16142,00"), False),
    "amount with three decimals as text": (_set("/claims/1/amount", "1.005"), False),
    "amount a boolean": (_set("/claims/1/amount", True), False),
    "currency EUR": (_set("/claims/1/currency", "EUR"), False),
    "description empty": (_set("/claims/1/description", ""), False),
    "description too long": (_set("/claims/1/description", "x" * 101), False),
    "notes a string": (_set("/claims/1/notes", "note"), False),
    "note empty": (_set("/claims/1/notes", [""]), False),
    "21 notes": (_set("/claims/1/notes", ["n"] * 21), False),
    "document without reference": (_set("/claims/1/documents", [{"title": "T"}]), False),
    "interest choice bad rule": (
        _set("/claims/1/interestChoice", {"rule": "003", "rateCode": "98"}),
        False,
    ),
    "interestClaims an object": (_set("/claims/0/interestClaims", {}), False),
    "interest claim not an object": (_set("/claims/0/interestClaims/1", 7), False),
    "interest claim without srbDate": (_drop("/claims/0/interestClaims/0/srbDate"), False),
    "interest claim unknown member": (_set("/claims/0/interestClaims/0/rate", "8"), False),
    "interest claim bad type": (
        _set("/claims/0/interestClaims/0/fordringstype", "REOPKOMM"),
        False,
    ),
}


@pytest.mark.parametrize(("change", "refused"), BREACHES.values(), ids=BREACHES.keys())
def test_where_the_schema_finds_a_breach_the_adapter_does_too(
    change: Change, refused: bool
) -> None:
    body = a_message()
    change(body)

    breaches = schema_errors(body)
    was_refused, problem_paths = adapter_verdict(body)

    assert breaches, "the schema accepts this message"
    assert was_refused is refused
    for breach in breaches:
        assert any(path.startswith(breach) for path in problem_paths), (breach, problem_paths)
    if not refused:
        breached_claims = {"/".join(b.split("/")[:3]) for b in breaches}
        assert all("/".join(p.split("/")[:3]) in breached_claims for p in problem_paths)


def test_a_breach_in_a_claim_leaves_the_other_claims_accepted() -> None:
    body = copy.deepcopy(a_message())
    body["claims"][1]["benefit"] = "boligstoette"

    was_refused, problem_paths = adapter_verdict(body)

    assert not was_refused
    assert "/claims/1/benefit" in problem_paths
    assert all(path.startswith("/claims/1/") for path in problem_paths)
