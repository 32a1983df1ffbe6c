"""The KY adapter: how messages are read and refused, and how each claim is mapped and checked."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.base import MappingContext, MessageContractError, MessageParseError
from adapters.ky import ADAPTER
from adapters.ky import benefits as benefits_module
from adapters.ky.samples import message as sample_message
from app.domain import catalogue as catalogue_module
from app.domain.admission import admit
from app.domain.claim import CanonicalClaim, ClaimCandidate, SourceSystem
from app.domain.problems import Problem
from app.encoding import dumps
from tests.golden import CONTRACTS

CITIZEN_CPR = "1204851236"
SPOUSE_CPR = "1403861327"


@cache
def catalogue() -> catalogue_module.Catalogue:
    return catalogue_module.load(CONTRACTS / "psrm" / "catalogue.json")


def context(claimant_id: str = "1234") -> MappingContext:
    return MappingContext(claimant_id=claimant_id, catalogue=catalogue())


def a_claim(**changes: Any) -> dict[str, Any]:
    """A valid kontanthjælp repayment claim; `changes` replace members (None removes one)."""
    claim: dict[str, Any] = {
        "reference": "TB-2025-000001",
        "benefit": "kontanthjaelp",
        "citizen": {"cpr": CITIZEN_CPR, "name": "Mette Kristensen"},
        "period": {"from": "2025-03-01", "to": "2025-05-31"},
        "principal": Decimal("18642.00"),
        "amount": Decimal("16142.00"),
        "decisionDate": "2025-08-14",
        "dueDate": "2025-09-01",
        "srbDate": "2025-09-15",
        "noticeDate": "2025-10-06",
        "description": "Tilbagebetaling af kontanthjælp marts-maj 2025",
    }
    for key, value in changes.items():
        if value is None:
            claim.pop(key, None)
        else:
            claim[key] = value
    return claim


def an_interest_claim(**changes: Any) -> dict[str, Any]:
    """A valid REOPKOM interest claim for `a_claim()`."""
    interest: dict[str, Any] = {
        "reference": "TB-2025-000001-R1",
        "period": {"from": "2025-09-16", "to": "2025-12-31"},
        "principal": "412.35",
        "amount": "412.35",
        "dueDate": "2026-01-01",
        "srbDate": "2026-01-15",
    }
    interest.update(changes)
    return interest


def a_message(*claims: Any, **changes: Any) -> dict[str, Any]:
    """A message holding `claims` (one valid claim when none are given)."""
    body: dict[str, Any] = {
        "messageId": "KY-TEST-000001",
        "sentAt": "2026-03-02T08:15:04+01:00",
        "claims": list(claims) or [a_claim()],
    }
    body.update(changes)
    return body


def encode(body: Any) -> bytes:
    """Encode a message as KY would, writing every Decimal as a JSON number digit for digit."""
    numbers: dict[str, str] = {}

    def hide(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"@number{len(numbers)}@"
            numbers[token] = str(value)
            return token
        if isinstance(value, dict):
            return {key: hide(item) for key, item in value.items()}
        if isinstance(value, list):
            return [hide(item) for item in value]
        return value

    text = json.dumps(hide(body), ensure_ascii=False)
    return re.sub(r'"(@number\d+@)"', lambda m: numbers[m.group(1)], text).encode("utf-8")


def candidates(body: Any, claimant_id: str = "1234") -> list[ClaimCandidate]:
    return candidates_of(encode(body), claimant_id)


def candidates_of(raw: bytes, claimant_id: str = "1234") -> list[ClaimCandidate]:
    return ADAPTER.to_candidates(ADAPTER.parse(raw), context(claimant_id))


def admitted(body: Any) -> list[tuple[CanonicalClaim | None, list[Problem]]]:
    return [admit(candidate, catalogue()) for candidate in candidates(body)]


def only_claim(body: Any) -> CanonicalClaim:
    results = admitted(body)
    assert len(results) == 1
    claim, problems = results[0]
    assert problems == []
    assert claim is not None
    return claim


def refusal(raw: bytes) -> MessageParseError | MessageContractError:
    with pytest.raises((MessageParseError, MessageContractError)) as caught:
        ADAPTER.parse(raw)
    error = caught.value
    assert isinstance(error, MessageParseError | MessageContractError)
    return error


# --- reading the message ----------------------------------------------------------------------


def test_a_valid_message_keeps_its_envelope() -> None:
    message = ADAPTER.parse(encode(a_message(claimantId="1742")))

    assert ADAPTER.message_id(message) == "KY-TEST-000001"
    assert message.sent_at == dt.datetime(2026, 3, 2, 7, 15, 4, tzinfo=dt.UTC)
    assert message.claimant_id == "1742"
    assert ADAPTER.media_types == ("application/json",)
    assert ADAPTER.source is SourceSystem.KY


def test_a_byte_order_mark_is_tolerated() -> None:
    message = ADAPTER.parse(b"\xef\xbb\xbf" + encode(a_message()))

    assert message.message_id == "KY-TEST-000001"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "json.empty"),
        (b"  \n ", "json.empty"),
        ('{"messageId": "Sørensen"}'.encode("latin-1"), "json.encoding"),
        (encode(a_message()).decode().encode("utf-16"), "json.encoding"),
        (b'{"messageId": "A", "claims": [', "json.malformed"),
        (b"{'messageId': 'A'}", "json.malformed"),
        (b'{"messageId": "A", "messageId": "B", "claims": []}', "json.duplicate_member"),
        (b'{"messageId": "A", "claims": [{"amount": NaN}]}', "json.malformed"),
        (b'{"messageId": "A", "claims": [{"amount": Infinity}]}', "json.malformed"),
        (b'{"messageId": "A", "claims": [{"description": "\\ud800"}]}', "json.encoding"),
    ],
    ids=[
        "empty",
        "blank",
        "latin-1",
        "utf-16",
        "truncated",
        "single quotes",
        "duplicate member",
        "NaN",
        "Infinity",
        "lone surrogate",
    ],
)
def test_bytes_that_are_not_utf8_json_are_malformed(raw: bytes, code: str) -> None:
    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    assert [p.code for p in error.problems] == [code]


def test_a_syntax_error_says_where_it_is() -> None:
    error = refusal(b'{\n  "messageId": "A",\n  "claims": [}\n')

    assert error.problems[0].source_path == "line 3, column 14"


@pytest.mark.parametrize(
    ("raw", "code", "place"),
    [
        (b"", "json.empty", "/"),
        (b"  \n ", "json.empty", "/"),
        ('{"messageId": "Søren"}'.encode("latin-1"), "json.encoding", "byte 16"),
        (encode(a_message()).decode().encode("utf-16"), "json.encoding", "byte 0"),
        (
            b'{"messageId": "A",\n "claims": [{"note": "NaN", "amount": NaN}]}',
            "json.malformed",
            "line 2, column 39",
        ),
        (
            b'{"messageId": "A", "claims": [{"note": "\\" -Infinity", "amount": -Infinity}]}',
            "json.malformed",
            "line 1, column 66",
        ),
        (
            b'{"messageId": "A", "claims": [{}, {"description": "\\ud800"}]}',
            "json.encoding",
            "/claims/1/description",
        ),
        (b'{"messageId": "A", "claims": [{"x\\udc00": 1}]}', "json.encoding", "/claims/0"),
    ],
    ids=[
        "empty",
        "blank",
        "latin-1",
        "utf-16",
        "NaN",
        "-Infinity after one in a string",
        "lone surrogate",
        "lone surrogate in a member name",
    ],
)
def test_a_message_refused_whole_says_where(raw: bytes, code: str, place: str) -> None:
    error = refusal(raw)

    assert [(p.code, p.source_path) for p in error.problems] == [(code, place)]


def test_a_byte_that_is_not_utf8_is_counted_from_the_first_byte_sent() -> None:
    raw = b"\xef\xbb\xbf" + '{"messageId": "Søren"}'.encode("latin-1")

    [problem] = refusal(raw).problems

    assert (problem.source_path, problem.message) == ("byte 19", "not UTF-8 at byte 19")


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        (b'{"messageId": "A", "messageId": "B", "claims": []}', "/"),
        (
            b'{"messageId": "A", "claims": [{}, {"citizen": {"cpr": "1", "cpr": "2"}}]}',
            "/claims/1/citizen",
        ),
        # The object is the first of a member sent twice: it is still the one pointed at.
        (
            b'{"messageId": "A", "claims": [{"citizen": {"cpr": "1", "cpr": "2"}, "citizen": {}}]}',
            "/claims/0/citizen",
        ),
        # A member name that may be personal data is not shown: its object is pointed at.
        (
            b'{"messageId": "A", "claims": [{"Jens Hansen": {"cpr": "1", "cpr": "2"}}]}',
            "/claims/0",
        ),
    ],
    ids=["envelope", "in a claim", "overwritten", "under a hidden name"],
)
def test_a_member_name_twice_points_at_its_object(raw: bytes, place: str) -> None:
    [problem] = refusal(raw).problems

    assert (problem.code, problem.source_path) == ("json.duplicate_member", place)
    assert "Jens" not in repr(problem)


def test_a_lone_surrogate_under_a_hidden_member_name_points_at_its_object() -> None:
    [problem] = refusal(
        b'{"messageId": "A", "claims": [{"Jens Hansen": {"d": "\\ud800"}}]}'
    ).problems

    assert (problem.code, problem.source_path) == ("json.encoding", "/claims/0")


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "line 1, column 33"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "line 1, column 193"),
        (b'{"x": "[[[[{{{{",\n "y": ' + b"[" * 40 + b"]" * 40 + b"}", "line 2, column 38"),
    ],
    ids=["100,000 arrays", "100,000 objects", "after brackets in a string"],
)
def test_nesting_too_deep_points_at_the_bracket_past_the_limit(raw: bytes, place: str) -> None:
    [problem] = refusal(raw).problems

    assert (problem.code, problem.source_path) == ("json.too_deep", place)


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        (b'{"claims": [{"principal": 1e99999999999999999999}]}', "line 1, column 27"),
        (b'{"x": "1e-99999999999999999999",\n "y": 1e-99999999999999999999}', "line 2, column 7"),
        (b'{"x": [0, 0e99999999999999999999]}', "line 1, column 11"),
    ],
    ids=["huge exponent", "tiny exponent, after the same in a string", "zero so written"],
)
def test_a_number_no_decimal_can_hold_is_refused_where_it_stands(raw: bytes, place: str) -> None:
    # Well-formed JSON, but beyond a Decimal's exponent: it was a 500.
    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    assert [(p.code, p.source_path) for p in error.problems] == [("json.malformed", place)]
    assert "cannot be read" in error.problems[0].message


def test_a_number_with_a_large_but_readable_exponent_is_an_amount_too_large() -> None:
    raw = encode(a_message(a_claim(principal="@big@"))).replace(b'"@big@"', b"1e999999999")
    [(claim, problems)] = [admit(c, catalogue()) for c in candidates_of(raw)]

    assert claim is None
    assert "amount.too_large" in {p.code for p in problems}


def test_a_bad_value_mapped_to_two_fields_is_reported_once() -> None:
    # decisionDate is both the founding date and the decision date: an impossible one was
    # reported twice at the same place (an outside probe).
    [(claim, problems)] = admitted(a_message(a_claim(decisionDate="2026-02-30")))

    assert claim is None
    assert [(p.code, p.source_path) for p in problems] == [
        ("date.invalid", "/claims/0/decisionDate")
    ]


# Python's `\d`, `int` and `Decimal` read every script's digits; the contract's JSON Schema
# means 0-9. Each of these was accepted (an outside probe): the Arabic-Indic CPR number went on
# to PSRM, and the full-width claimant id left its claim held for good.
ARABIC_CPR = "".join(chr(0x0660 + int(d)) for d in CITIZEN_CPR)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"citizen": {"cpr": ARABIC_CPR, "name": "Mette Kristensen"}}, "liabilities", None),
        ({"amount": "١٠٠.٥٠"}, "amount", "amount.invalid"),
        ({"amount": Decimal("-0")}, "amount", "amount.negative"),  # "no sign" (§3.4)
        ({"principal": "１８６４２.００"}, "principal", "amount.invalid"),
        (
            {"interestChoice": {"rule": "002", "rateCode": "99", "extraRate": "٥"}},
            "interest.extra_rate",
            "field.invalid",
        ),
    ],
    ids=["cpr", "amount", "minus-zero", "principal", "extra-rate"],
)
def test_other_scripts_digits_and_a_signed_zero_are_refused(
    changes: dict[str, Any], field: str, code: str | None
) -> None:
    [(claim, problems)] = admitted(a_message(a_claim(**changes)))

    assert claim is None
    found = [p for p in problems if (p.field or "").startswith(field)]
    assert found, problems
    if code is not None:
        assert {p.code for p in found} == {code}
    assert all(ARABIC_CPR not in (p.message + str(p.value)) for p in problems)


PYTHON_INTERNALS = re.compile(r"recursion|sys\.|int_max_str_digits|Exceeds the limit|Traceback")


def nested(depth: int) -> bytes:
    """A message whose first note is arrays in arrays, so that the whole is `depth` deep."""
    inner = b"[" * (depth - 4) + b"]" * (depth - 4)
    return encode(a_message(a_claim(notes=["@inner@"]))).replace(b'"@inner@"', inner)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 33 + b"]" * 33,
        nested(33),
        nested(300),
    ],
    ids=["100,000 arrays", "100,000 objects", "33 arrays", "33 in a note", "300 in a note"],
)
def test_nesting_deeper_than_the_contract_allows_is_refused_in_plain_words(raw: bytes) -> None:
    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    assert [(p.code, p.message) for p in error.problems] == [
        ("json.too_deep", "arrays and objects nest deeper than 32 levels")
    ]


def test_nesting_up_to_the_limit_is_read() -> None:
    assert [p.code for p in refusal(b"[" * 32 + b"]" * 32).problems] == ["message.not_object"]
    # Nested arrays in a note are the claim's problem (a note is text), not the message's.
    [(claim, problems)] = [admit(c, catalogue()) for c in candidates_of(nested(32))]
    assert claim is None
    assert [(p.code, p.source_path) for p in problems] == [
        ("field.wrong_type", "/claims/0/notes/0")
    ]


@pytest.mark.parametrize(
    "text",
    ["[" * 40, "]" * 40 + "[" * 40, '\\"' + "{[" * 40, "\\\\" + "[" * 40],
    ids=["brackets", "closing first", "after an escaped quote", "after an escaped backslash"],
)
def test_brackets_inside_strings_are_not_nesting(text: str) -> None:
    claim = only_claim(a_message(a_claim(notes=[text], legalBasis=text[:200])))

    assert claim.notes == [text]


def test_a_number_of_any_length_is_read_exactly_and_judged_by_its_member() -> None:
    digits = "1" * 5001
    raw = encode(
        a_message(
            a_claim(reference="TB-1"),
            a_claim(reference="TB-2", principal="@amount@", amount="@amount@"),
            a_claim(reference="TB-3", principal="@principal@"),
            a_claim(reference="TB-4", currency="@currency@"),
        )
    )
    for name, number in [
        ("amount", digits),
        ("principal", digits + ".00"),
        ("currency", "2" * 30),
    ]:
        raw = raw.replace(f'"@{name}@"'.encode(), number.encode())

    found = candidates_of(raw)
    results = [admit(candidate, catalogue()) for candidate in found]

    assert results[0][0] is not None
    assert [[(p.code, p.source_path) for p in problems] for _, problems in results[1:]] == [
        [("amount.too_large", "/claims/1/principal"), ("amount.too_large", "/claims/1/amount")],
        [("amount.too_large", "/claims/2/principal")],
        [("field.wrong_type", "/claims/3/currency")],
    ]
    text = json.dumps([p.as_dict() for _, problems in results for p in problems])
    assert not PYTHON_INTERNALS.search(text)
    # What intake stores for a rejected claim must be JSON again, however long the number.
    for candidate in found:
        assert json.loads(dumps(candidate.fields))


def test_a_message_id_that_is_a_long_number_is_a_wrong_type() -> None:
    raw = encode(a_message(messageId="@id@")).replace(b'"@id@"', b"9" * 5001)

    error = refusal(raw)

    assert isinstance(error, MessageContractError)
    assert [(p.code, p.source_path, p.value) for p in error.problems] == [
        ("field.wrong_type", "/messageId", None)
    ]
    assert not PYTHON_INTERNALS.search(json.dumps([p.as_dict() for p in error.problems]))


@pytest.mark.parametrize("top", [[], "claims", 3, None, True])
def test_json_that_is_not_an_object_breaks_the_contract(top: Any) -> None:
    error = refusal(encode(top))

    assert isinstance(error, MessageContractError)
    assert [(p.code, p.source_path) for p in error.problems] == [("message.not_object", "")]


@pytest.mark.parametrize(
    ("changes", "code", "path"),
    [
        ({"messageId": None}, "field.missing", "/messageId"),
        ({"messageId": ""}, "field.empty", "/messageId"),
        ({"messageId": 42}, "field.wrong_type", "/messageId"),
        ({"messageId": ["KY-1"]}, "field.wrong_type", "/messageId"),
        ({"messageId": "KY 42"}, "message_id.invalid", "/messageId"),
        ({"messageId": "x" * 65}, "message_id.invalid", "/messageId"),
        ({"messageId": f"KY-{CITIZEN_CPR}"}, "message_id.personal_data", "/messageId"),
        ({"sentAt": "2026-03-02"}, "date_time.invalid", "/sentAt"),
        ({"sentAt": "2026-03-02T08:15:04"}, "date_time.invalid", "/sentAt"),
        ({"sentAt": "2026-02-30T08:15:04Z"}, "date_time.invalid", "/sentAt"),
        ({"sentAt": 1772435704}, "field.wrong_type", "/sentAt"),
        ({"sentAt": ""}, "field.empty", "/sentAt"),
        ({"claimantId": "123"}, "claimant_id.invalid", "/claimantId"),
        ({"claimantId": "１２３４"}, "claimant_id.invalid", "/claimantId"),  # full-width digits
        ({"claimantId": "١٢٣٤"}, "claimant_id.invalid", "/claimantId"),  # Arabic-Indic digits
        ({"sentAt": "٢٠٢٦-03-02T08:15:04Z"}, "date_time.invalid", "/sentAt"),
        ({"claimantId": 1234}, "field.wrong_type", "/claimantId"),
        ({"claimantId": ""}, "field.empty", "/claimantId"),
        ({"sender": "KY"}, "field.unknown", "/sender"),
        ({"claims": None}, "field.wrong_type", "/claims"),
        ({"claims": {"0": a_claim()}}, "field.wrong_type", "/claims"),
        ({"claims": []}, "claims.empty", "/claims"),
        ({"claim": a_claim()}, "message.claims_and_claim", "/claim"),
    ],
)
def test_an_envelope_that_breaks_the_contract_refuses_the_message(
    changes: dict[str, Any], code: str, path: str
) -> None:
    body = a_message()
    for key, value in changes.items():
        if value is None and key == "messageId":
            del body[key]
        else:
            body[key] = value

    error = refusal(encode(body))

    assert isinstance(error, MessageContractError)
    assert [(p.code, p.source_path) for p in error.problems] == [(code, path)]


def test_a_message_without_claims_is_refused() -> None:
    body = a_message()
    del body["claims"]

    error = refusal(encode(body))

    assert [(p.code, p.source_path) for p in error.problems] == [("field.missing", "/claims")]


def test_more_than_ten_thousand_claims_are_refused() -> None:
    body = a_message(*[a_claim(reference=f"TB-{i}") for i in range(10_001)])

    error = refusal(encode(body))

    assert [(p.code, p.value) for p in error.problems] == [("claims.too_many", "10001")]


def test_ten_thousand_claims_are_taken() -> None:
    message = ADAPTER.parse(sample_message(10_000, message_id="KY-MAX"))

    assert len(message.claims) == 10_000


def test_every_envelope_breach_is_listed_at_once() -> None:
    body = {"sender": "KY", "claimantId": "12", "claims": "none"}

    error = refusal(encode(body))

    assert sorted(p.source_path or "" for p in error.problems) == [
        "/claimantId",
        "/claims",
        "/messageId",
        "/sender",
    ]


def test_an_envelope_refusal_never_repeats_a_cpr_number() -> None:
    body = a_message(messageId=f"KY-{CITIZEN_CPR}", claimantId=CITIZEN_CPR)
    body[CITIZEN_CPR] = "x"

    error = refusal(encode(body))

    assert len(error.problems) == 3
    assert CITIZEN_CPR not in repr(error.problems) + str(error)


def test_an_unknown_member_named_like_a_person_is_not_echoed() -> None:
    # A debtor's name used as a member name is personal data: the problem points at the
    # object holding it and says why its name is not shown.
    body = a_message(a_claim())
    body["Mette Kristensen"] = {"cpr": CITIZEN_CPR}
    claim = a_claim()
    claim["citizen"] = {**claim["citizen"], "Søren Ærø": "x"}
    inner = a_message(claim)

    envelope = refusal(encode(body))
    (problem,) = [p for p in envelope.problems if p.code == "field.unknown"]
    (_, problems) = admitted(inner)[0]
    (member,) = [p for p in problems if p.code == "field.unknown"]

    assert problem.source_path == "/"
    assert "not shown" in problem.message
    assert member.source_path == "/claims/0/citizen"
    assert "not shown" in member.message
    shown = repr(envelope.problems) + str(envelope) + repr(problems)
    for personal in ("Mette", "Kristensen", "Søren", "Ærø", CITIZEN_CPR):
        assert personal not in shown


def test_a_member_name_twice_is_named_only_when_shaped_like_one() -> None:
    named = refusal(b'{"messageId": "A", "messageId": "B", "claims": []}')
    hidden = refusal(b'{"messageId": "A", "Jens Hansen": 1, "Jens Hansen": 2, "claims": []}')

    assert "'messageId'" in named.problems[0].message
    assert hidden.problems[0].code == "json.duplicate_member"
    assert "Jens" not in repr(hidden.problems) + str(hidden)


# --- mapping a claim --------------------------------------------------------------------------


def test_a_claim_maps_to_the_canonical_claim() -> None:
    claim = only_claim(a_message())

    assert claim.source is SourceSystem.KY
    assert claim.source_reference == "TB-2025-000001"
    assert claim.claimant_reference == "KY-TB-2025-000001"
    assert claim.claimant_id == "1234"
    assert claim.fordringstype == "KTTIBAK"
    assert claim.legal_basis == "aktivloven § 91"
    assert claim.category.value == "HF"
    assert claim.business_area == "socialret"
    assert (claim.principal, claim.amount) == (Decimal("18642.00"), Decimal("16142.00"))
    assert (claim.period_start_date, claim.period_end_date) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 5, 31),
    )
    assert claim.decision_date == claim.founding_date == dt.date(2025, 8, 14)
    assert (claim.due_date, claim.srb_date, claim.notice_date) == (
        dt.date(2025, 9, 1),
        dt.date(2025, 9, 15),
        dt.date(2025, 10, 6),
    )
    [liability] = claim.liabilities
    assert (liability.debtor_kind.value, liability.debtor_id, liability.debtor_name) == (
        "CPR",
        CITIZEN_CPR,
        "Mette Kristensen",
    )
    # KTTIBAK lapses three years after the benefit period ends.
    assert liability.limitation_date == dt.date(2028, 5, 31)


def test_the_candidate_locates_every_field_in_the_message() -> None:
    [candidate] = candidates(a_message())

    assert candidate.index == 0
    assert candidate.source_path == "/claims/0"
    assert candidate.source_reference == "TB-2025-000001"
    assert candidate.field_paths["amount"] == "/claims/0/amount"
    assert candidate.field_paths["srb_date"] == "/claims/0/srbDate"
    assert candidate.field_paths["period_end_date"] == "/claims/0/period/to"
    assert candidate.field_paths["liabilities.0.debtor_id"] == "/claims/0/citizen/cpr"
    assert candidate.field_paths["fordringstype"] == "/claims/0/benefit"
    assert "business_area" not in candidate.fields


def test_money_is_never_a_float() -> None:
    [candidate] = candidates(a_message(a_claim(principal=Decimal("0.10"), amount=7)))

    assert candidate.fields["principal"] == Decimal("0.10")
    assert isinstance(candidate.fields["principal"], Decimal)
    assert candidate.fields["amount"] == Decimal(7)
    assert isinstance(candidate.fields["amount"], Decimal)


def test_a_single_claim_may_be_sent_as_claim() -> None:
    body = a_message()
    body["claim"] = body.pop("claims")[0]

    [candidate] = candidates(body)

    assert candidate.source_path == "/claim"
    assert candidate.field_paths["amount"] == "/claim/amount"
    assert admit(candidate, catalogue())[0] is not None


def test_the_claimant_id_comes_from_the_message_or_the_deployment() -> None:
    assert only_claim(a_message(claimantId="1742")).claimant_id == "1742"
    assert candidates(a_message(), claimant_id="4321")[0].fields["claimant_id"] == "4321"


def test_a_cpr_number_may_carry_a_dash() -> None:
    claim = only_claim(a_message(a_claim(citizen={"cpr": "120485-1236"})))

    assert claim.liabilities[0].debtor_id == CITIZEN_CPR


def test_amounts_may_be_sent_as_text() -> None:
    claim = only_claim(a_message(a_claim(principal="18642.5", amount="0")))

    assert (claim.principal, claim.amount) == (Decimal("18642.50"), Decimal("0.00"))


def test_optional_members_may_be_null() -> None:
    nulls = {"noticeDate", "currency", "notes", "documents", "coDebtors", "legalBasis", "art"}
    body = a_message(a_claim())
    body["claims"][0].update(dict.fromkeys(nulls))
    body["claims"][0]["citizen"]["name"] = None
    body["sentAt"] = None
    body["claimantId"] = None

    claim = only_claim(body)

    assert claim.notice_date is None
    assert claim.legal_basis == "aktivloven § 91"
    assert claim.liabilities[0].debtor_name is None


@pytest.mark.parametrize(
    ("benefit", "fordringstype"),
    [("kontanthjaelp", "KTTIBAK"), ("boligindskud", "KTNEBOF"), ("enkeltydelse", "KTTIBAK")],
)
def test_the_benefit_decides_the_fordringstype(benefit: str, fordringstype: str) -> None:
    assert only_claim(a_message(a_claim(benefit=benefit))).fordringstype == fordringstype


def test_an_explicit_fordringstype_and_legal_basis_override_the_benefit() -> None:
    claim = only_claim(
        a_message(a_claim(benefit="boligindskud", fordringstype="KTTIBAK", legalBasis="§ 93"))
    )

    assert (claim.fordringstype, claim.legal_basis) == ("KTTIBAK", "§ 93")


def test_benefit_andet_needs_an_explicit_fordringstype() -> None:
    [(claim, problems)] = admitted(a_message(a_claim(benefit="andet")))

    assert claim is None
    assert ("field.missing", "/claims/0/fordringstype") in [
        (p.code, p.source_path) for p in problems
    ]
    assert (
        only_claim(a_message(a_claim(benefit="andet", fordringstype="KTTIBAK"))).legal_basis is None
    )


def test_an_explicit_claimant_reference_and_founding_date_are_kept() -> None:
    claim = only_claim(
        a_message(a_claim(claimantReference="KOMMUNE-4471", foundingDate="2025-07-01"))
    )

    assert claim.claimant_reference == "KOMMUNE-4471"
    assert claim.founding_date == dt.date(2025, 7, 1)


def test_co_debtors_are_jointly_liable_with_their_own_dates() -> None:
    citizen = {"cpr": CITIZEN_CPR, "limitationDate": "2029-01-31"}
    spouse = {"cpr": SPOUSE_CPR, "name": "Kasper Nielsen", "inEstate": True}

    claim = only_claim(a_message(a_claim(citizen=citizen, coDebtors=[spouse])))

    assert [(item.debtor_id, item.in_estate) for item in claim.liabilities] == [
        (CITIZEN_CPR, False),
        (SPOUSE_CPR, True),
    ]
    assert [item.limitation_date for item in claim.liabilities] == [
        dt.date(2029, 1, 31),
        dt.date(2028, 5, 31),
    ]


def test_notes_documents_and_interest_choice_are_carried() -> None:
    claim = only_claim(
        a_message(
            a_claim(
                notes=["Afdrag aftalt."],
                documents=[{"reference": "DOK-1", "title": "Afgørelse"}, {"reference": "DOK-2"}],
                interestChoice={"rule": "002", "rateCode": "99", "extraRate": "1.5"},
            )
        )
    )

    assert claim.notes == ["Afdrag aftalt."]
    assert [(d.reference, d.title) for d in claim.documents] == [
        ("DOK-1", "Afgørelse"),
        ("DOK-2", None),
    ]
    assert claim.interest is not None
    assert (claim.interest.rule, claim.interest.rate_code) == ("002", "99")
    assert claim.interest.extra_rate == Decimal("1.5")


# --- interest claims --------------------------------------------------------------------------


def test_interest_claims_follow_their_main_claim_as_related_claims() -> None:
    main = a_claim(
        coDebtors=[{"cpr": SPOUSE_CPR, "limitationDate": "2030-01-01"}],
        interestClaims=[
            an_interest_claim(),
            an_interest_claim(reference="R2", noticeDate="2026-02-01"),
        ],
    )
    body = a_message(main, a_claim(reference="TB-2"))

    found = candidates(body)
    results = [admit(candidate, catalogue()) for candidate in found]

    assert [(c.index, c.source_path) for c in found] == [
        (0, "/claims/0"),
        (1, "/claims/0/interestClaims/0"),
        (2, "/claims/0/interestClaims/1"),
        (3, "/claims/1"),
    ]
    assert all(problems == [] for _, problems in results)
    interest, second = results[1][0], results[2][0]
    assert interest is not None
    assert second is not None
    assert (interest.category.value, interest.main_claim_reference) == ("UF", "TB-2025-000001")
    assert (interest.fordringstype, interest.business_area) == ("REOPKOM", "renter")
    assert interest.claimant_reference == "KY-TB-2025-000001-R1"
    assert interest.founding_date == dt.date(2025, 12, 31)
    assert interest.notice_date == dt.date(2025, 10, 6)
    assert second.notice_date == dt.date(2026, 2, 1)
    # Same debtors, but limitation from the interest claim's own type (REOPKOM: due + 3 years).
    assert [(item.debtor_id, item.limitation_date) for item in interest.liabilities] == [
        (CITIZEN_CPR, dt.date(2029, 1, 1)),
        (SPOUSE_CPR, dt.date(2029, 1, 1)),
    ]


def test_an_interest_claim_may_state_its_limitation_date() -> None:
    body = a_message(a_claim(interestClaims=[an_interest_claim(limitationDate="2029-06-30")]))

    interest = admitted(body)[1][0]

    assert interest is not None
    assert interest.liabilities[0].limitation_date == dt.date(2029, 6, 30)


def test_an_interest_type_the_main_type_does_not_allow_is_rejected() -> None:
    body = a_message(a_claim(interestClaims=[an_interest_claim(fordringstype="GEDAINS")]))

    (main, _), (interest, problems) = admitted(body)

    assert main is not None
    assert interest is None
    assert [(p.code, p.source_path, p.value) for p in problems] == [
        ("related.type_not_allowed", "/claims/0/interestClaims/0/fordringstype", "GEDAINS")
    ]


# --- problems inside one claim ----------------------------------------------------------------


def _without(member: str) -> dict[str, Any]:
    claim = a_claim()
    del claim[member]
    return claim


def _citizen(**changes: Any) -> dict[str, Any]:
    return a_claim(citizen={"cpr": CITIZEN_CPR, **changes})


CLAIM_PROBLEMS: list[tuple[str, dict[str, Any], str, str]] = [
    *[
        (f"no {member}", _without(member), "field.missing", f"/claims/1/{member}")
        for member in (
            "reference",
            "benefit",
            "citizen",
            "period",
            "principal",
            "amount",
            "decisionDate",
            "dueDate",
            "srbDate",
            "description",
        )
    ],
    ("null srbDate", {**a_claim(), "srbDate": None}, "field.missing", "/claims/1/srbDate"),
    ("unknown member", a_claim(colour="red"), "field.unknown", "/claims/1/colour"),
    ("unknown benefit", a_claim(benefit="boligstoette"), "benefit.unknown", "/claims/1/benefit"),
    ("benefit not text", a_claim(benefit=7), "field.wrong_type", "/claims/1/benefit"),
    ("reference too long", a_claim(reference="R" * 34), "reference.invalid", "/claims/1/reference"),
    ("reference with space", a_claim(reference="TB 1"), "reference.invalid", "/claims/1/reference"),
    ("reference a number", a_claim(reference=17), "field.wrong_type", "/claims/1/reference"),
    (
        "reference with CPR",
        a_claim(reference=f"TB-{CITIZEN_CPR}"),
        "reference.personal_data",
        "/claims/1/reference",
    ),
    ("citizen not object", a_claim(citizen=CITIZEN_CPR), "field.wrong_type", "/claims/1/citizen"),
    (
        "citizen without cpr",
        a_claim(citizen={"name": "X"}),
        "field.missing",
        "/claims/1/citizen/cpr",
    ),
    ("cpr a number", _citizen(cpr=1204851236), "field.wrong_type", "/claims/1/citizen/cpr"),
    ("cpr bad date", _citizen(cpr="3102851236"), "cpr.invalid", "/claims/1/citizen/cpr"),
    ("cpr with spaces", _citizen(cpr="120485 1236"), "cpr.invalid", "/claims/1/citizen/cpr"),
    ("cpr too short", _citizen(cpr="120485123"), "cpr.invalid", "/claims/1/citizen/cpr"),
    ("unknown debtor member", _citizen(address="X"), "field.unknown", "/claims/1/citizen/address"),
    ("empty name", _citizen(name=""), "field.empty", "/claims/1/citizen/name"),
    ("inEstate text", _citizen(inEstate="yes"), "field.wrong_type", "/claims/1/citizen/inEstate"),
    (
        "bad limitationDate",
        _citizen(limitationDate="31.12.2028"),
        "date.invalid",
        "/claims/1/citizen/limitationDate",
    ),
    (
        "judgment and settlement",
        _citizen(judgmentDate="2024-01-01", settlementDate="2024-02-01"),
        "liability.judgment_and_settlement",
        "/claims/1/citizen/settlementDate",
    ),
    (
        "coDebtors object",
        a_claim(coDebtors={"cpr": SPOUSE_CPR}),
        "field.wrong_type",
        "/claims/1/coDebtors",
    ),
    (
        "coDebtor a string",
        a_claim(coDebtors=[SPOUSE_CPR]),
        "field.wrong_type",
        "/claims/1/coDebtors/0",
    ),
    (
        "coDebtor bad cpr",
        a_claim(coDebtors=[{"cpr": "0000000000"}]),
        "cpr.invalid",
        "/claims/1/coDebtors/0/cpr",
    ),
    (
        "same debtor twice",
        a_claim(coDebtors=[{"cpr": CITIZEN_CPR}]),
        "liability.duplicate_debtor",
        "/claims/1/coDebtors/0",  # the debtor listed again
    ),
    ("period a string", a_claim(period="2025"), "field.wrong_type", "/claims/1/period"),
    (
        "period without to",
        a_claim(period={"from": "2025-01-01"}),
        "field.missing",
        "/claims/1/period/to",
    ),
    (
        "period reversed",
        a_claim(period={"from": "2025-06-01", "to": "2025-05-31"}),
        "period.reversed",
        "/claims/1/period/from",
    ),
    ("principal true", a_claim(principal=True), "field.wrong_type", "/claims/1/principal"),
    ("amount with comma", a_claim(amount="16142,00"), "amount.invalid", "/claims/1/amount"),
    ("amount with exponent", a_claim(amount="1.6e4"), "amount.invalid", "/claims/1/amount"),
    ("amount negative", a_claim(amount=Decimal("-1")), "amount.negative", "/claims/1/amount"),
    (
        "amount 3 decimals",
        a_claim(amount=Decimal("1.005")),
        "amount.too_many_decimals",
        "/claims/1/amount",
    ),
    (
        "amount too large",
        a_claim(amount=Decimal("100000000")),
        "amount.too_large",
        "/claims/1/amount",
    ),
    (
        "amount over principal",
        a_claim(amount=Decimal("20000")),
        "amount.exceeds_principal",
        "/claims/1/amount",
    ),
    ("currency EUR", a_claim(currency="EUR"), "field.not_allowed", "/claims/1/currency"),
    ("art unknown", a_claim(art="INKA"), "field.not_allowed", "/claims/1/art"),
    ("art MODR", a_claim(art="MODR"), "art.not_allowed", "/claims/1/art"),
    (
        "fordringstype lower",
        a_claim(fordringstype="kttibak"),
        "field.bad_format",
        "/claims/1/fordringstype",
    ),
    (
        "fordringstype unknown",
        a_claim(fordringstype="KTZZZZZ"),
        "fordringstype.unknown",
        "/claims/1/fordringstype",
    ),
    (
        "related type as main",
        a_claim(fordringstype="REOPKOM"),
        "category.mismatch",
        "/claims/1/fordringstype",
    ),
    ("date with slashes", a_claim(dueDate="2025/09/01"), "date.invalid", "/claims/1/dueDate"),
    ("date compact", a_claim(dueDate="20250901"), "date.invalid", "/claims/1/dueDate"),
    ("date impossible", a_claim(dueDate="2025-02-30"), "date.invalid", "/claims/1/dueDate"),
    ("date a number", a_claim(noticeDate=20251006), "field.wrong_type", "/claims/1/noticeDate"),
    ("srb before due", a_claim(srbDate="2025-08-31"), "srb.before_due_date", "/claims/1/srbDate"),
    ("description empty", a_claim(description=""), "field.empty", "/claims/1/description"),
    ("description a number", a_claim(description=5), "field.wrong_type", "/claims/1/description"),
    (
        "description too long",
        a_claim(description="x" * 101),
        "field.too_long",
        "/claims/1/description",
    ),
    (
        "description with CPR",
        a_claim(description=f"Samlever {SPOUSE_CPR}"),
        "text.personal_data",
        "/claims/1/description",
    ),
    ("legalBasis empty", a_claim(legalBasis=""), "field.empty", "/claims/1/legalBasis"),
    (
        "claimantReference too long",
        a_claim(claimantReference="K" * 37),
        "field.too_long",
        "/claims/1/claimantReference",
    ),
    (
        "claimantReference with CPR",
        a_claim(claimantReference=f"K-{SPOUSE_CPR}"),
        "text.personal_data",
        "/claims/1/claimantReference",
    ),
    ("notes a string", a_claim(notes="note"), "field.wrong_type", "/claims/1/notes"),
    ("note empty", a_claim(notes=["ok", ""]), "field.empty", "/claims/1/notes/1"),
    ("note a number", a_claim(notes=[3]), "field.wrong_type", "/claims/1/notes/0"),
    (
        "document without reference",
        a_claim(documents=[{"title": "T"}]),
        "field.missing",
        "/claims/1/documents/0/reference",
    ),
    (
        "document unknown member",
        a_claim(documents=[{"reference": "D", "url": "x"}]),
        "field.unknown",
        "/claims/1/documents/0/url",
    ),
    ("document a string", a_claim(documents=["D"]), "field.wrong_type", "/claims/1/documents/0"),
    (
        "interestChoice bad rule",
        a_claim(interestChoice={"rule": "003", "rateCode": "98"}),
        "field.not_allowed",
        "/claims/1/interestChoice/rule",
    ),
    (
        "interestChoice without rateCode",
        a_claim(interestChoice={"rule": "001"}),
        "field.missing",
        "/claims/1/interestChoice/rateCode",
    ),
    (
        "interestClaims object",
        a_claim(interestClaims={}),
        "field.wrong_type",
        "/claims/1/interestClaims",
    ),
    (
        "too many interest claims",
        a_claim(interestClaims=[an_interest_claim(reference=f"R{i}") for i in range(21)]),
        "field.too_many",
        "/claims/1/interestClaims",
    ),
    (
        "duplicate reference",
        a_claim(reference="TB-0"),
        "reference.duplicate",
        "/claims/1/reference",
    ),
]


@pytest.mark.parametrize(
    ("claim", "code", "path"),
    [case[1:] for case in CLAIM_PROBLEMS],
    ids=[case[0] for case in CLAIM_PROBLEMS],
)
def test_a_problem_in_one_claim_rejects_that_claim_only(
    claim: dict[str, Any], code: str, path: str
) -> None:
    body = a_message(a_claim(reference="TB-0"), claim, a_claim(reference="TB-2"))

    results = admitted(body)

    assert results[0][0] is not None
    assert results[-1][0] is not None
    rejected, problems = results[1]
    assert rejected is None
    assert (code, path) in [(p.code, p.source_path) for p in problems]


@pytest.mark.parametrize(
    ("interest", "code", "path"),
    [
        (
            an_interest_claim(reference=None),
            "field.missing",
            "/claims/0/interestClaims/0/reference",
        ),
        (
            an_interest_claim(srbDate="1.1.2026"),
            "date.invalid",
            "/claims/0/interestClaims/0/srbDate",
        ),
        (an_interest_claim(rate="8"), "field.unknown", "/claims/0/interestClaims/0/rate"),
        (
            an_interest_claim(reference="TB-2025-000001"),
            "reference.duplicate",
            "/claims/0/interestClaims/0/reference",
        ),
        (
            an_interest_claim(amount="500"),
            "amount.exceeds_principal",
            "/claims/0/interestClaims/0/amount",
        ),
        (
            an_interest_claim(limitationDate="2029"),
            "date.invalid",
            "/claims/0/interestClaims/0/limitationDate",
        ),
        ("R1", "claim.not_object", "/claims/0/interestClaims/0"),
    ],
)
def test_a_problem_in_an_interest_claim_rejects_only_that_interest_claim(
    interest: Any, code: str, path: str
) -> None:
    body = a_message(a_claim(interestClaims=[interest]))

    (main, _), (related, problems) = admitted(body)

    assert main is not None
    assert related is None
    assert (code, path) in [(p.code, p.source_path) for p in problems]


def test_a_claim_that_is_not_an_object_is_rejected_alone() -> None:
    body = a_message(a_claim(), None, a_claim(reference="TB-2"))

    results = admitted(body)

    assert [claim is not None for claim, _ in results] == [True, False, True]
    assert results[1][1][0].code == "claim.not_object"
    assert results[1][1][0].source_path == "/claims/1"


def test_an_interest_claim_of_a_main_claim_without_reference_points_at_that_gap() -> None:
    body = a_message(a_claim(reference=None, interestClaims=[an_interest_claim()]))

    (_, _), (interest, problems) = admitted(body)

    assert interest is None
    assert ("related.main_claim_missing", "/claims/0/reference") in [
        (p.code, p.source_path) for p in problems
    ]


def test_no_problem_ever_repeats_a_cpr_number_or_a_name() -> None:
    cpr_places = [
        a_claim(reference=f"TB-{SPOUSE_CPR}"),
        a_claim(reference="TB-2", description=f"Samlever {SPOUSE_CPR}"),
        a_claim(reference="TB-3", claimantReference=f"K{SPOUSE_CPR}"),
        a_claim(reference="TB-4", notes=[f"cpr {SPOUSE_CPR}", ""]),
        a_claim(reference="TB-5", citizen={"cpr": f"{SPOUSE_CPR}9", "name": ""}),
        a_claim(reference="TB-6", citizen={"cpr": SPOUSE_CPR, SPOUSE_CPR: "x", "name": 7}),
        a_claim(reference="TB-7", benefit=SPOUSE_CPR, dueDate=SPOUSE_CPR, amount=SPOUSE_CPR),
        a_claim(reference="TB-8", coDebtors=[{"cpr": SPOUSE_CPR}, {"cpr": SPOUSE_CPR}]),
        a_claim(reference="TB-9", citizen={"cpr": "3102851236", "name": "Mette Kristensen"}),
    ]

    results = admitted(a_message(*cpr_places))

    problems = [p for _, found in results for p in found]
    assert len(problems) >= len(cpr_places)
    assert all(claim is None for claim, _ in results)
    text = json.dumps([p.as_dict() for p in problems], ensure_ascii=False)
    for secret in (SPOUSE_CPR, "3102851236", "Mette Kristensen"):
        assert secret not in text


# --- wrong JSON types and empty strings, member by member ---------------------------------------


def _full_claim() -> dict[str, Any]:
    """A claim using every member that holds a value (and is valid as a whole)."""
    return a_claim(
        fordringstype="KTTIBAK",
        legalBasis="aktivloven § 91",
        art="INDR",
        claimantReference="KOMMUNE-1",
        currency="DKK",
        foundingDate="2025-08-14",
        citizen={
            "cpr": CITIZEN_CPR,
            "name": "Mette Kristensen",
            "limitationDate": "2029-01-31",
            "judgmentDate": "2025-08-01",
            "inEstate": False,
        },
        coDebtors=[{"cpr": SPOUSE_CPR, "settlementDate": "2025-08-01"}],
        documents=[{"reference": "DOK-1", "title": "Afgørelse"}],
        notes=["Afdrag aftalt."],
        interestChoice={"rule": "001", "rateCode": "98", "extraRate": "1.5"},
        interestClaims=[
            an_interest_claim(
                fordringstype="REOPKOM",
                legalBasis="renteloven § 5",
                claimantReference="KOMMUNE-1-R1",
                currency="DKK",
                foundingDate="2025-12-31",
                noticeDate="2026-02-01",
                limitationDate="2029-01-01",
                description="Renter",
            )
        ],
    )


R = "interestClaims/0/"
# (member's pointer within the claim, required?) for every member the contract types as a string
STRING_MEMBERS: list[tuple[str, bool]] = [
    *[
        (
            name,
            name in {"reference", "benefit", "decisionDate", "dueDate", "srbDate", "description"},
        )
        for name in (
            "reference",
            "benefit",
            "fordringstype",
            "legalBasis",
            "art",
            "claimantReference",
            "currency",
            "decisionDate",
            "foundingDate",
            "dueDate",
            "srbDate",
            "noticeDate",
            "description",
        )
    ],
    ("citizen/cpr", True),
    ("citizen/name", False),
    ("citizen/limitationDate", False),
    ("citizen/judgmentDate", False),
    ("coDebtors/0/cpr", True),
    ("coDebtors/0/settlementDate", False),
    ("period/from", True),
    ("period/to", True),
    ("documents/0/reference", True),
    ("documents/0/title", False),
    ("interestChoice/rule", True),
    ("interestChoice/rateCode", True),
    *[
        (R + name, name in {"reference", "dueDate", "srbDate"})
        for name in (
            "reference",
            "fordringstype",
            "legalBasis",
            "claimantReference",
            "currency",
            "foundingDate",
            "dueDate",
            "srbDate",
            "noticeDate",
            "limitationDate",
            "description",
        )
    ],
    (R + "period/from", True),
]
# Members that take a number or a string (amounts, the extra interest rate).
NUMBER_MEMBERS: list[tuple[str, bool]] = [
    ("principal", True),
    ("amount", True),
    ("interestChoice/extraRate", False),
    (R + "principal", True),
    (R + "amount", True),
]


def _with(pointer: str, value: Any) -> dict[str, Any]:
    claim = _full_claim()
    *parents, last = pointer.split("/")
    target: Any = claim
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = value
    return claim


def _problems_at(claim: dict[str, Any], pointer: str) -> list[Problem]:
    """The problems found at `pointer` in the claim (or interest claim) it belongs to."""
    body = a_message(a_claim(reference="TB-0"), claim)
    found = candidates(body)
    owner = "/claims/1/" + R.rstrip("/") if pointer.startswith(R) else "/claims/1"
    results = {c.source_path: admit(c, catalogue()) for c in found}
    assert results["/claims/0"][0] is not None
    where = f"/claims/1/{pointer}"
    return [p for p in results[owner][1] if p.source_path == where]


def test_the_full_claim_is_valid() -> None:
    results = admitted(a_message(_full_claim()))

    assert [problems for _, problems in results] == [[], []]


WRONG_TYPES = {"number": Decimal(7), "true": True, "array": ["x"], "object": {"x": "y"}}


@pytest.mark.parametrize("wrong", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
@pytest.mark.parametrize("member", [m for m, _ in STRING_MEMBERS], ids=str)
def test_a_string_member_of_another_json_type_is_a_wrong_type(member: str, wrong: Any) -> None:
    problems = _problems_at(_with(member, wrong), member)

    assert [(p.code, p.message) for p in problems] == [("field.wrong_type", "must be a string")]


@pytest.mark.parametrize("wrong", [True, ["1"], {"x": "1"}], ids=["true", "array", "object"])
@pytest.mark.parametrize("member", [m for m, _ in NUMBER_MEMBERS], ids=str)
def test_a_number_member_of_another_json_type_is_a_wrong_type(member: str, wrong: Any) -> None:
    problems = _problems_at(_with(member, wrong), member)

    assert [(p.code, p.message) for p in problems] == [
        ("field.wrong_type", "must be a number or a string of digits")
    ]


def test_inestate_of_another_json_type_is_a_wrong_type() -> None:
    problems = _problems_at(_with("citizen/inEstate", "false"), "citizen/inEstate")

    assert [p.code for p in problems] == ["field.wrong_type"]


@pytest.mark.parametrize(
    ("member", "required"), STRING_MEMBERS + NUMBER_MEMBERS, ids=lambda x: str(x)
)
def test_an_empty_string_is_reported_as_empty_saying_what_to_do(
    member: str, required: bool
) -> None:
    problems = _problems_at(_with(member, ""), member)

    name = member.rsplit("/", 1)[-1]
    expected = (
        f"{name} is required and must have a value"
        if required
        else "must not be empty; leave it out"
    )
    assert [(p.code, p.message) for p in problems] == [("field.empty", expected)]


# --- resending ----------------------------------------------------------------------------------


def test_resending_the_same_bytes_gives_the_same_message_and_the_same_refusal() -> None:
    from app.services import intake

    claims = [
        a_claim(reference="TB-1"),
        a_claim(reference=17, amount=True, description=""),
        a_claim(reference="TB-3", amount="@long@"),
    ]
    raw = encode(a_message(*claims)).replace(b'"@long@"', b"1" * 5001)
    too_deep = b"[" * 100_000 + b"]" * 100_000

    def prepared() -> tuple[str, str, list[tuple[str, list[dict[str, Any]]]]]:
        result = intake.prepare(
            source=SourceSystem.KY,
            raw=raw,
            media_type="application/json",
            principal="ky",
            catalogue=catalogue(),
            claimant_id="1234",
            now=dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC),
        )
        items = [
            (item.candidate.source_path, [p.as_dict() for p in item.problems])
            for item in result.items
        ]
        return result.message_id, result.raw_sha256, items

    first = prepared()
    refused = refusal(too_deep).problems

    assert prepared() == first
    assert refusal(too_deep).problems == refused
    assert first[0] == "KY-TEST-000001"
    assert [problems == [] for _, problems in first[2]] == [True, False, False]


# --- properties -------------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)


@given(principal=AMOUNTS, share=st.fractions(min_value=0, max_value=1), as_text=st.booleans())
def test_amounts_survive_exactly(principal: Decimal, share: Fraction, as_text: bool) -> None:
    amount = (principal * share.numerator / share.denominator).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    sent = (str(principal), str(amount)) if as_text else (principal, amount)

    claim = only_claim(a_message(a_claim(principal=sent[0], amount=sent[1])))

    assert (claim.principal, claim.amount) == (principal, amount)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from([CITIZEN_CPR, "2025-13-01", "1.005", "-3", "KTTIBAK"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
MEMBERS = st.sampled_from(
    [
        *sorted(a_claim()),
        *("coDebtors", "interestClaims", "documents", "notes", "interestChoice", "art", "x"),
    ]
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(MEMBERS, JSON_VALUES, min_size=1, max_size=4))
def test_any_garbage_in_a_claim_stays_in_that_claim(changes: dict[str, Any]) -> None:
    assume(changes.get("reference") != "TB-2")
    broken = copy.deepcopy(a_claim(reference="TB-0"))
    broken.update(changes)
    body = a_message(broken, a_claim(reference="TB-2"))

    found = candidates(body)
    results = [admit(candidate, catalogue()) for candidate in found]

    assert found[-1].source_path == "/claims/1"
    assert results[-1][0] is not None
    text = json.dumps([p.as_dict() for _, problems in results for p in problems])
    assert CITIZEN_CPR not in text
    for claim, problems in results:
        assert (claim is None) == bool(problems)
        assert all((p.source_path or "").startswith("/claims/") for p in problems)


# --- data and samples -------------------------------------------------------------------------


def test_every_benefit_maps_to_a_catalogued_type_or_asks_for_one() -> None:
    table = benefits_module.benefits()

    assert {"kontanthjaelp", "boligindskud", "andet"} <= table.keys()
    for benefit in table.values():
        if benefit.fordringstype is None:
            assert benefit.code == "andet"
        else:
            assert catalogue().get(benefit.fordringstype) is not None, benefit.code


def test_a_benefit_table_with_a_code_twice_is_refused() -> None:
    entry = {"code": "x", "name": "X", "fordringstype": "KTTIBAK", "legalBasis": None}

    with pytest.raises(ValueError, match="twice"):
        benefits_module.from_dict({"benefits": [entry, entry]})


def test_samples_are_valid_and_distinct_across_messages() -> None:
    first = ADAPTER.to_candidates(ADAPTER.parse(sample_message(300, message_id="S-1")), context())
    second = ADAPTER.to_candidates(ADAPTER.parse(sample_message(300, message_id="S-2")), context())

    results = [admit(candidate, catalogue()) for candidate in first]
    assert all(claim is not None for claim, _ in results)
    references = [c.source_reference for c in first]
    assert len(set(references)) == 300
    assert not set(references) & {c.source_reference for c in second}


def test_a_date_mapped_to_two_fields_is_reported_on_the_one_the_sender_wrote() -> None:
    # decisionDate is the decision date and, without a foundingDate, the founding date too:
    # its problem named the founding date, which the sender never sent (an outside probe).
    [(claim, problems)] = admitted(a_message(a_claim(decisionDate="1899-12-31")))

    assert claim is None
    assert [(p.code, p.field, p.source_path) for p in problems] == [
        ("date.out_of_range", "decision_date", "/claims/0/decisionDate")
    ]
