"""The KSD adapter: reading batch files, refusing broken ones, mapping each claim."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, MappingContext, MessageContractError, MessageParseError
from adapters.ksd import ADAPTER, samples
from adapters.ksd import message as ksd_message
from adapters.ksd.message import NAMESPACE
from app.domain.admission import admit
from app.domain.claim import ClaimCandidate, SourceSystem
from app.domain.problems import Problem
from tests.golden import CONTRACTS, catalogue

CATALOGUE = catalogue()
CONTEXT = MappingContext(claimant_id="1234", catalogue=CATALOGUE)
EXAMPLES = CONTRACTS / "ksd" / "examples"

CPR = "1503841235"
CITIZEN = f"<CPR>{CPR}</CPR><Navn>Mette Kjær Sørensen</Navn>"


# --- builders ---------------------------------------------------------------------------------


def krav(
    krav_id: str = "SDP-2025-000001",
    *,
    head: str = "",
    skyldner: str = CITIZEN,
    medskyldnere: str = "",
    hovedstol: str = "8412.00",
    beloeb: str = "8412.00",
    forfald: str = "<Forfaldsdato>2025-11-03</Forfaldsdato>",
    tail: str = "",
) -> str:
    """Return one valid Krav element; the keyword arguments replace its parts."""
    return (
        f"<Krav><KravId>{krav_id}</KravId>{head}"
        f"<Skyldner>{skyldner}</Skyldner>{medskyldnere}"
        "<Periode><Fra>2025-09-01</Fra><Til>2025-09-28</Til></Periode>"
        f"<Hovedstol>{hovedstol}</Hovedstol><Beloeb>{beloeb}</Beloeb>"
        f"<Stiftelsesdato>2025-10-20</Stiftelsesdato>{forfald}"
        "<SidsteRettidigeBetalingsdato>2025-11-17</SidsteRettidigeBetalingsdato>"
        "<Varslingsdato>2025-12-15</Varslingsdato>"
        "<Beskrivelse>Tilbagebetaling af sygedagpenge, september 2025</Beskrivelse>"
        "<Lovgrundlag>Lov om sygedagpenge</Lovgrundlag>"
        f"{tail}</Krav>"
    )


def rente(rente_id: str, *, beloeb: str = "212.40", extra: str = "") -> str:
    """Return one valid Rente element."""
    return (
        f"<Rente><RenteId>{rente_id}</RenteId>{extra}<Hovedstol>{beloeb}</Hovedstol>"
        f"<Beloeb>{beloeb}</Beloeb><Forfaldsdato>2026-01-01</Forfaldsdato>"
        "<SidsteRettidigeBetalingsdato>2026-01-15</SidsteRettidigeBetalingsdato></Rente>"
    )


def batch(
    *claims: str,
    count: int | None = None,
    header: str | None = None,
    claimant: str = "",
    encoding: str = "UTF-8",
    root: str = f'Batch xmlns="{NAMESPACE}"',
) -> bytes:
    """Return a batch file with the given Krav elements, encoded as declared."""
    if header is None:
        header = (
            "<Hoved><BatchId>KSD-751-20260112-0001</BatchId>"
            "<Dannet>2026-01-12T05:40:12+01:00</Dannet><Kommunekode>751</Kommunekode>"
            f"{claimant}<AntalKrav>{len(claims) if count is None else count}</AntalKrav></Hoved>"
        )
    end = root.split()[0]
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<{root}>{header}{"".join(claims)}</{end}>'
    return text.encode(encoding)


def prefixed(raw: bytes, prefix: str) -> bytes:
    """Return the same UTF-8 file with every element under `prefix:` instead of a default ns."""
    text = raw.decode("utf-8").replace(f'xmlns="{NAMESPACE}"', f'xmlns:{prefix}="{NAMESPACE}"')
    return re.sub(r"<(/?)([A-Z][A-Za-z]*)", rf"<\1{prefix}:\2", text).encode("utf-8")


def candidates(raw: bytes) -> list[ClaimCandidate]:
    """Parse and map a file."""
    return ADAPTER.to_candidates(ADAPTER.parse(raw), CONTEXT)


def refusal(raw: bytes) -> AdapterError:
    """Return the error a file is refused with."""
    with pytest.raises(AdapterError) as caught:
        ADAPTER.parse(raw)
    return caught.value


def codes(problems: list[Problem] | tuple[Problem, ...]) -> list[str]:
    """Return the codes of some problems."""
    return [problem.code for problem in problems]


# --- mapping ----------------------------------------------------------------------------------


def test_adapter_is_registered_for_ksd_xml() -> None:
    assert ADAPTER.source is SourceSystem.KSD
    assert set(ADAPTER.media_types) == {"application/xml", "text/xml"}
    assert ADAPTER.message_id(ADAPTER.parse(batch(krav()))) == "KSD-751-20260112-0001"


def test_a_citizen_claim_maps_to_the_canonical_fields() -> None:
    [candidate] = candidates(batch(krav()))

    assert candidate.index == 0
    assert candidate.source_path == "/Batch/Krav[1]"
    assert candidate.source_reference == "SDP-2025-000001"
    assert candidate.problems == ()
    assert candidate.fields == {
        "source": "ksd",
        "category": "HF",
        "claimant_id": "1234",
        "source_reference": "SDP-2025-000001",
        "claimant_reference": "KSD-SDP-2025-000001",
        "fordringstype": "KLSYGDP",
        "principal": "8412.00",
        "amount": "8412.00",
        "period_start_date": "2025-09-01",
        "period_end_date": "2025-09-28",
        "founding_date": "2025-10-20",
        "due_date": "2025-11-03",
        "srb_date": "2025-11-17",
        "notice_date": "2025-12-15",
        "description": "Tilbagebetaling af sygedagpenge, september 2025",
        "legal_basis": "Lov om sygedagpenge",
        "liabilities": [
            {"debtor_kind": "CPR", "debtor_id": CPR, "debtor_name": "Mette Kjær Sørensen"}
        ],
    }
    assert candidate.field_paths["amount"] == "/Batch/Krav[1]/Beloeb"
    assert candidate.field_paths["period_end_date"] == "/Batch/Krav[1]/Periode/Til"
    assert candidate.field_paths["liabilities.0.debtor_id"] == "/Batch/Krav[1]/Skyldner/CPR"
    claim, problems = admit(candidate, CATALOGUE)
    assert problems == []
    assert claim is not None
    assert claim.principal == Decimal("8412.00")
    assert claim.liabilities[0].limitation_date.isoformat() == "2028-11-03"


@pytest.mark.parametrize(
    ("debtor", "expected"),
    [
        (CITIZEN, "KLSYGDP"),
        ("<CVR>35714685</CVR><Navn>Tømrerfirmaet Bøgh ApS</Navn>", "KLSYGAG"),
        ("<SE>29451834</SE>", "KLSYGAG"),
    ],
)
def test_fordringstype_follows_the_debtor_unless_stated(debtor: str, expected: str) -> None:
    [by_debtor, stated] = candidates(
        batch(
            krav("A-1", skyldner=debtor),
            krav("A-2", skyldner=debtor, head="<Fordringstype>KTTIBAK</Fordringstype>"),
        )
    )

    assert by_debtor.fields["fordringstype"] == expected
    assert stated.fields["fordringstype"] == "KTTIBAK"
    assert stated.field_paths["fordringstype"] == "/Batch/Krav[2]/Fordringstype"


def test_claimant_id_and_reference_come_from_the_file_when_stated() -> None:
    raw = batch(
        krav("A-1", head="<Fordringshaverreference>FRB-77/2025</Fordringshaverreference>"),
        krav("A-2"),
        claimant="<FordringshaverId>1147</FordringshaverId>",
    )

    stated, derived = candidates(raw)

    assert stated.fields["claimant_reference"] == "FRB-77/2025"
    assert derived.fields["claimant_reference"] == "KSD-A-2"
    assert {stated.fields["claimant_id"], derived.fields["claimant_id"]} == {"1147"}
    assert stated.field_paths["claimant_id"] == "/Batch/Hoved/FordringshaverId"
    assert candidates(batch(krav()))[0].fields["claimant_id"] == CONTEXT.claimant_id


def test_co_debtors_follow_the_debtor_in_file_order() -> None:
    co = (
        "<Medskyldner><CPR>2302690817</CPR><Bobehandling>1</Bobehandling></Medskyldner>"
        "<Medskyldner><SE>29451834</SE><Foraeldelsesdato>2029-01-02</Foraeldelsesdato>"
        "<Bobehandling>false</Bobehandling></Medskyldner>"
    )

    [candidate] = candidates(batch(krav(medskyldnere=co)))

    assert candidate.fields["liabilities"] == [
        {"debtor_kind": "CPR", "debtor_id": CPR, "debtor_name": "Mette Kjær Sørensen"},
        {"debtor_kind": "CPR", "debtor_id": "2302690817", "in_estate": True},
        {
            "debtor_kind": "SE",
            "debtor_id": "29451834",
            "limitation_date": "2029-01-02",
            "in_estate": False,
        },
    ]
    assert candidate.field_paths["liabilities.2.debtor_id"] == "/Batch/Krav[1]/Medskyldner[2]/SE"
    assert admit(candidate, CATALOGUE)[1] == []


def test_interest_claims_follow_their_claim_and_inherit_its_debtors() -> None:
    debtor = CITIZEN + "<Foraeldelsesdato>2030-01-01</Foraeldelsesdato>"
    raw = batch(
        krav("A-1", skyldner=debtor, tail=f"<Renter>{rente('A-1-R1')}{rente('A-1-R2')}</Renter>"),
        krav("A-2"),
    )

    main, first, second, other = candidates(raw)

    assert [c.index for c in (main, first, second, other)] == [0, 1, 2, 3]
    assert first.source_path == "/Batch/Krav[1]/Renter/Rente[1]"
    assert second.source_path == "/Batch/Krav[1]/Renter/Rente[2]"
    assert other.source_path == "/Batch/Krav[2]"
    assert first.fields["category"] == "UF"
    assert first.fields["fordringstype"] == "REOPKOM"
    assert first.fields["main_claim_reference"] == "A-1"
    assert first.fields["claimant_reference"] == "KSD-A-1-R1"
    assert first.fields["notice_date"] == "2025-12-15"
    # the debtor, but not the main claim's limitation date: the interest has its own
    assert first.fields["liabilities"] == [
        {"debtor_kind": "CPR", "debtor_id": CPR, "debtor_name": "Mette Kjær Sørensen"}
    ]
    assert first.field_paths["amount"] == "/Batch/Krav[1]/Renter/Rente[1]/Beloeb"
    claim, problems = admit(first, CATALOGUE)
    assert problems == []
    assert claim is not None
    assert claim.liabilities[0].limitation_date.isoformat() == "2029-01-01"


def test_notes_documents_and_interest_choice_are_mapped() -> None:
    tail = (
        "<Noter><Note>Første linje\n  anden linje</Note><Note>Ring før kl. 12</Note></Noter>"
        "<Dokumenter><Dokument><Reference>DOK-1</Reference><Titel>Afgørelse</Titel></Dokument>"
        "<Dokument><Reference>DOK-2</Reference></Dokument></Dokumenter>"
        "<Rentevalg><Renteregel>002</Renteregel><Rentesatskode>99</Rentesatskode></Rentevalg>"
    )

    [candidate] = candidates(batch(krav(tail=tail)))

    assert candidate.fields["notes"] == ["Første linje\n  anden linje", "Ring før kl. 12"]
    assert candidate.fields["documents"] == [
        {"reference": "DOK-1", "title": "Afgørelse"},
        {"reference": "DOK-2"},
    ]
    assert candidate.fields["interest"] == {"rule": "002", "rate_code": "99"}
    assert candidate.field_paths["documents.1.reference"] == (
        "/Batch/Krav[1]/Dokumenter/Dokument[2]/Reference"
    )
    assert admit(candidate, CATALOGUE)[1] == []


@settings(max_examples=25, deadline=None)
@given(prefix=st.from_regex(r"[a-wyz][a-z0-9]{0,5}", fullmatch=True))
def test_any_namespace_prefix_gives_the_same_claims(prefix: str) -> None:
    raw = batch(krav("A-1", tail=f"<Renter>{rente('A-1-R1')}</Renter>"), krav("A-2"))

    assert candidates(prefixed(raw, prefix)) == candidates(raw)


def test_white_space_comments_and_cdata_do_not_change_the_claims() -> None:
    compact = batch(krav())
    spaced = (
        compact.decode("utf-8")
        .replace("><", ">\n    <")
        .replace("<Krav>", "<!-- a claim --><Krav>")
        .replace("<KravId>SDP-2025-000001<", "<KravId>\n  SDP-2025-000001\n<")
        .replace("Mette Kjær Sørensen", "  Mette\n   Kjær  Sørensen ")
        .replace("Lov om sygedagpenge", "<![CDATA[Lov om sygedagpenge]]>")
    ).encode("utf-8")

    assert candidates(spaced) == candidates(compact)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(min_value=1, max_value=60), latin=st.booleans())
def test_samples_are_valid_distinct_claims(n: int, latin: bool) -> None:
    raw = samples.message(n, message_id="sample-7", encoding="ISO-8859-1" if latin else "UTF-8")

    mapped = candidates(raw)

    assert len(mapped) == n
    assert len({c.source_reference for c in mapped}) == n
    assert len({c.fields["liabilities"][0]["debtor_id"] for c in mapped}) == n
    assert all(admit(c, CATALOGUE)[1] == [] for c in mapped)


# --- encodings --------------------------------------------------------------------------------


def test_iso_8859_1_and_utf_8_give_identical_claims() -> None:
    latin = samples.message(40, message_id="enc-1", encoding="ISO-8859-1")
    utf8 = samples.message(40, message_id="enc-1", encoding="UTF-8")

    assert latin != utf8
    assert "ø".encode("latin-1") in latin
    assert candidates(latin) == candidates(utf8)


@pytest.mark.parametrize("name", ["02-many-claims-latin1.xml", "03-employer-cvr-and-se-latin1.xml"])
def test_latin_1_example_reads_as_its_utf_8_twin(name: str) -> None:
    latin = (EXAMPLES / name).read_bytes()
    utf8 = latin.decode("latin-1").replace('encoding="ISO-8859-1"', 'encoding="UTF-8"').encode()

    mapped = candidates(latin)

    assert mapped == candidates(utf8)
    assert any("ø" in str(c.fields["liabilities"][0].get("debtor_name")) for c in mapped)


def test_utf_8_with_a_byte_order_mark_is_read() -> None:
    raw = batch(krav())

    assert candidates(b"\xef\xbb\xbf" + raw) == candidates(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(
            batch(krav(), encoding="ISO-8859-1")[:-40], "xml.malformed", id="truncated-latin-1"
        ),
        pytest.param(
            batch(krav()).replace(b'encoding="UTF-8"', b'encoding="X-KSD-UNKNOWN"'),
            None,
            id="unknown-encoding",
        ),
        pytest.param(
            batch(krav(), encoding="ISO-8859-1").replace(b' encoding="ISO-8859-1"', b""),
            None,
            id="latin-1-undeclared",
        ),
        pytest.param(b"", None, id="empty"),
        pytest.param(b"<Batch xmlns='x'><Hoved>", "xml.malformed", id="not-well-formed"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE Batch [<!ENTITY x "y">]><Batch/>',
            "xml.doctype_forbidden",
            id="doctype",
        ),
    ],
)
def test_unreadable_bytes_are_refused_as_malformed(raw: bytes, code: str | None) -> None:
    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    if code is not None:
        assert code in codes(error.problems)


@pytest.mark.parametrize(
    ("raw", "code", "place"),
    [
        pytest.param(b"", "xml.malformed", "line 1", id="empty"),
        pytest.param(b" \n\t", "xml.malformed", "line 1", id="blank"),
        pytest.param(
            batch(krav()).replace(b"\n<Batch", b"\n\n<!DOCTYPE Batch>\n<Batch"),
            "xml.doctype_forbidden",
            "line 3",
            id="doctype",
        ),
        pytest.param(
            batch(krav()).replace(b"</Krav>", b'</Krav>\n<!ENTITY x "y">'),
            "xml.doctype_forbidden",
            "line 3",
            id="entity-in-the-body",
        ),
        pytest.param(
            batch(krav(), encoding="ISO-8859-1").replace(b"<Hoved>", b"\n<Hoved>\n")[:-40],
            "xml.malformed",
            "line 4",
            id="truncated",
        ),
    ],
)
def test_an_unreadable_file_says_where(raw: bytes, code: str, place: str) -> None:
    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    assert [(p.code, p.source_path) for p in error.problems] == [(code, place)]


# --- refusals of the whole file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "path"),
    [
        pytest.param(
            batch(krav(), root='Fordringer xmlns="urn:kombit:ksd:debitor:krav:1"'),
            "batch.wrong_root",
            "/Fordringer",
            id="wrong-root",
        ),
        pytest.param(
            batch(krav(), root='Batch xmlns="urn:kombit:ksd:debitor:krav:2"'),
            "batch.wrong_root",
            "/Batch",
            id="wrong-namespace",
        ),
        pytest.param(batch(krav(), root="Batch"), "batch.wrong_root", "/Batch", id="no-namespace"),
        pytest.param(
            batch(krav(), root="R" * 300 + ' xmlns="urn:x"'),
            "batch.wrong_root",
            "/" + "R" * 100,
            id="long-root-name-capped",
        ),
        pytest.param(batch(count=1), "batch.no_claims", "/Batch", id="no-claims"),
        pytest.param(
            batch(krav("A-1"), krav("A-2"), count=3),
            "batch.count_mismatch",
            "/Batch/Hoved/AntalKrav",
            id="count-mismatch",
        ),
        pytest.param(
            batch(
                krav(),
                header="<Hoved><Dannet>2026-01-12T05:40:12Z</Dannet>"
                "<Kommunekode>751</Kommunekode><AntalKrav>1</AntalKrav></Hoved>",
            ),
            "batch.id_missing",
            "/Batch/Hoved/BatchId",
            id="batch-id-missing",
        ),
        pytest.param(
            batch(
                krav(),
                header="<Hoved><BatchId>B-1</BatchId><Dannet>2026-01-12T05:40:12Z"
                "</Dannet><Kommunekode>75</Kommunekode><AntalKrav>1</AntalKrav></Hoved>",
            ),
            "xml.schema",
            "/Batch/Hoved/Kommunekode",
            id="header-breaks-schema",
        ),
        pytest.param(
            batch(krav("A-1"), "<Kommentar>x</Kommentar>", krav("A-2"), count=2),
            "xml.schema",
            "/Batch/Kommentar",
            id="unknown-element-in-batch",
        ),
    ],
)
def test_a_broken_envelope_refuses_the_file(raw: bytes, code: str, path: str) -> None:
    error = refusal(raw)

    assert isinstance(error, MessageContractError)
    assert (code, path) in [(p.code, p.source_path) for p in error.problems]


def test_a_header_after_the_claims_refuses_the_file() -> None:
    raw = batch(krav(), header="").replace(
        b"</Krav>",
        b"</Krav><Hoved><BatchId>B-1</BatchId><Dannet>2026-01-12T05:40:12Z</Dannet>"
        b"<Kommunekode>751</Kommunekode><AntalKrav>1</AntalKrav></Hoved>",
    )

    error = refusal(raw)

    assert isinstance(error, MessageContractError)
    assert "xml.schema" in codes(error.problems)


def test_a_count_written_with_a_sign_is_still_checked() -> None:
    raw = batch(krav(), count=1).replace(b"<AntalKrav>1<", b"<AntalKrav>+2<")

    assert "batch.count_mismatch" in codes(refusal(raw).problems)


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        ("9" * 4_301, None),
        ("0" * 4_400 + "2", "2"),
        ("+" + "0" * 5_000 + "1" * 30, None),
        ("1" * 19, None),
    ],
    ids=["4301-nines", "two-after-zeros", "long-with-sign", "19-digits"],
)
def test_a_count_of_any_length_is_checked(count: str, shown: str | None) -> None:
    # Python reads at most 4,300 digits as an int: a longer count was not checked, and the
    # batch taken whatever it said (an outside probe).
    raw = batch(krav(), count=1).replace(b"<AntalKrav>1<", f"<AntalKrav>{count}<".encode())

    [problem] = refusal(raw).problems

    assert problem.code == "batch.count_mismatch"
    assert problem.value == shown
    assert problem.message == (
        f"AntalKrav is {shown}, but the batch holds 1 Krav"
        if shown
        else "AntalKrav is not the batch's number of Krav (1)"
    )


def test_a_long_count_that_is_right_is_taken() -> None:
    raw = batch(krav(), count=1).replace(b"<AntalKrav>1<", b"<AntalKrav>" + b"0" * 5_000 + b"1<")

    assert len(ADAPTER.parse(raw).claims) == 1


def test_a_count_is_shown_back_only_while_it_can_be_one() -> None:
    # A CPR number put in AntalKrav came back as 9 of its 10 digits (its leading zero read
    # away): an outside probe.
    wrong = batch(krav(), count=1).replace(b"<AntalKrav>1<", b"<AntalKrav>3<")
    cpr = batch(krav(), count=1).replace(b"<AntalKrav>1<", b"<AntalKrav>0703851002<")

    [shown] = refusal(wrong).problems
    [withheld] = refusal(cpr).problems

    assert (shown.message, shown.value) == ("AntalKrav is 3, but the batch holds 1 Krav", "3")
    assert withheld.code == "batch.count_mismatch"
    assert withheld.value is None
    assert "703851002" not in withheld.message


def test_a_file_declared_xml_1_1_is_refused() -> None:
    # libxml2 read it by XML 1.0's rules and it was taken; the contract says XML 1.0.
    raw = batch(krav(), count=1)
    assert raw.startswith(b'<?xml version="1.0"')

    [problem] = refusal(raw.replace(b'version="1.0"', b'version="1.1"', 1)).problems

    assert (problem.code, problem.source_path) == ("xml.malformed", "line 1")


def test_nesting_past_the_parsers_limit_is_said_in_the_senders_terms() -> None:
    raw = batch(krav(), count=1).replace(b"<Hoved>", b"<x>" * 3000 + b"</x>" * 3000 + b"<Hoved>")

    [problem] = refusal(raw).problems

    assert problem.code == "xml.malformed"
    assert problem.message.startswith("elements nest deeper than 2048 levels")
    assert "XML_PARSE_HUGE" not in problem.message


def test_too_many_claims_refuse_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ksd_message, "MAX_CLAIMS", 3)

    error = refusal(batch(*(krav(f"A-{n}") for n in range(4))))

    assert codes(error.problems) == ["batch.too_many_claims"]
    assert len(candidates(batch(*(krav(f"A-{n}") for n in range(3))))) == 3


def test_creation_time_with_many_fraction_digits_is_read() -> None:
    raw = batch(krav()).replace(b"05:40:12+01:00", b"05:40:12.1234567+01:00")

    assert ADAPTER.parse(raw).created_at.microsecond == 123456


# --- problems inside one claim ----------------------------------------------------------------


@pytest.mark.parametrize("prefix", [None, "ksd"], ids=["default-namespace", "prefixed"])
def test_a_schema_fault_is_a_problem_on_its_own_claim_only(prefix: str | None) -> None:
    raw = batch(krav("A-1"), krav("A-2"), krav("A-3", beloeb="1.234,50"), krav("A-4"))
    if prefix:
        raw = prefixed(raw, prefix)

    mapped = candidates(raw)

    assert [len(c.problems) for c in mapped] == [0, 0, 1, 0]
    [problem] = mapped[2].problems
    assert problem.code == "xml.schema"
    assert problem.source_path == "/Batch/Krav[3]/Beloeb"
    assert problem.field == "amount"
    assert "1.234,50" not in problem.message
    results = [admit(c, CATALOGUE) for c in mapped]
    assert [claim is not None for claim, _ in results] == [True, True, False, True]
    assert "xml.schema" in codes(results[2][1])
    assert all(p.source_path == "/Batch/Krav[3]/Beloeb" for p in results[2][1])


def test_a_schema_fault_in_an_interest_claim_stays_with_it() -> None:
    renter = f"<Renter>{rente('A-1-R1')}{rente('A-1-R2', beloeb='ti kroner')}</Renter>"

    main, first, second = candidates(batch(krav("A-1", tail=renter)))

    assert main.problems == first.problems == ()
    assert [(p.code, p.source_path, p.field) for p in second.problems] == [
        ("xml.schema", "/Batch/Krav[1]/Renter/Rente[2]/Hovedstol", "principal"),
        ("xml.schema", "/Batch/Krav[1]/Renter/Rente[2]/Beloeb", "amount"),
    ]


def test_a_misplaced_element_is_a_fault_of_structure_on_its_claim() -> None:
    raw = batch(
        krav("A-1", forfald="", tail=f"<Renter>{rente('A-1-R1')}</Renter>"),
        krav("A-2"),
    )

    main, interest, other = candidates(raw)

    [problem] = main.problems
    assert problem.code == "xml.schema"
    assert problem.source_path == "/Batch/Krav[1]/SidsteRettidigeBetalingsdato"
    assert problem.field is None  # the fault is the missing Forfaldsdato, not the SRB
    assert "Forfaldsdato" in problem.message
    assert interest.problems == other.problems == ()
    assert interest.fields["main_claim_reference"] == "A-1"  # intake rejects it with its main


def test_an_element_of_another_namespace_in_a_claim_is_a_problem_there() -> None:
    foreign = krav("A-2").replace("</Krav>", '<x:Ekstra xmlns:x="urn:other">1</x:Ekstra></Krav>')

    first, second = candidates(batch(krav("A-1"), foreign))

    assert first.problems == ()
    assert codes(second.problems) == ["xml.schema"]
    assert second.problems[0].source_path == "/Batch/Krav[2]/Ekstra"


@pytest.mark.parametrize(
    ("start", "end"),
    [('<x:Krav xmlns:x="urn:x">', "</x:Krav>"), ('<Krav xmlns="">', "</Krav>")],
    ids=["other-namespace", "no-namespace"],
)
def test_a_krav_of_another_namespace_in_the_batch_is_placed_where_it_stands(
    start: str, end: str
) -> None:
    # Two valid Krav, then one of another namespace (or none): the file is refused, at the
    # stray element, the batch's fourth element, not at the first valid claim (an outside probe).
    foreign = start + krav("A-3").removeprefix("<Krav>").removesuffix("</Krav>") + end

    error = refusal(batch(krav("A-1"), krav("A-2"), foreign, count=2))

    assert isinstance(error, MessageContractError)
    assert [(p.code, p.source_path) for p in error.problems] == [("xml.schema", "/Batch/*[4]")]


def test_an_element_of_no_namespace_named_as_a_contract_element_is_placed_by_position() -> None:
    # A Beloeb in no namespace after the claim's own: libxml2 names it `Beloeb`, which found
    # the claim's valid Beloeb before; by its name it would also be that Beloeb's place.
    stray = krav("A-2").replace("</Beloeb>", '</Beloeb><Beloeb xmlns="">1</Beloeb>')

    first, second = candidates(batch(krav("A-1"), stray))

    assert first.problems == ()
    assert [(p.code, p.source_path, p.field) for p in second.problems] == [
        ("xml.schema", "/Batch/Krav[2]/*[6]", None)
    ]


def test_a_claim_without_a_debtor_is_rejected_alone() -> None:
    no_debtor = krav("A-2").replace(f"<Skyldner>{CITIZEN}</Skyldner>", "")

    first, second = candidates(batch(krav("A-1"), no_debtor))

    assert first.problems == ()
    assert [(p.code, p.source_path) for p in second.problems] == [
        ("xml.schema", "/Batch/Krav[2]/Periode")
    ]
    claim, problems = admit(second, CATALOGUE)
    assert claim is None
    assert {"liabilities.0.debtor_id", "fordringstype"} <= {p.field for p in problems}
    assert all(p.source_path and p.source_path.startswith("/Batch/Krav[2]") for p in problems)
    assert admit(first, CATALOGUE)[1] == []


@settings(max_examples=40, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3, allow_nan=False
    )
)
def test_decimals_are_judged_by_the_canonical_rules_not_the_schema(amount: Decimal) -> None:
    [candidate] = candidates(batch(krav(hovedstol="99999.99", beloeb=str(amount))))

    claim, problems = admit(candidate, CATALOGUE)

    assert candidate.problems == ()
    if amount == amount.quantize(Decimal("0.01")):
        assert problems == []
        assert claim is not None
        assert claim.amount == amount
    else:
        assert codes(problems) == ["amount.too_many_decimals"]
        assert problems[0].source_path == "/Batch/Krav[1]/Beloeb"


# --- personal data ----------------------------------------------------------------------------


def _every_problem(raw: bytes) -> list[Problem]:
    found: list[Problem] = []
    try:
        mapped = candidates(raw)
    except AdapterError as error:
        return list(error.problems)
    for candidate in mapped:
        found.extend(admit(candidate, CATALOGUE)[1])  # the candidate's own problems included
    return found


def test_no_problem_repeats_a_cpr_number() -> None:
    bad_dates = "3102851234"
    raw = batch(
        krav("A-1", skyldner=f"<CPR>{CPR}X</CPR>"),
        krav("A-2", skyldner=f"<CPR>{bad_dates}</CPR>"),
        krav("A-3", skyldner=f"<CPR>{CPR}</CPR><Navn>{CPR}</Navn>", beloeb="9.999"),
        krav("A-4", medskyldnere=f"<Medskyldner><CPR>{CPR}</CPR></Medskyldner>"),
        krav(CPR),
        krav("A-6").replace("Tilbagebetaling af", f"Tilbagebetaling ({CPR}) af"),
        krav("A-7", skyldner=f"<CPR>{CPR[:6]}-{CPR[6:]}</CPR>"),
    )
    header_with_cpr = batch(
        krav(),
        header=f"<Hoved><BatchId>B-1</BatchId><Dannet>2026-01-12T05:40:12Z</Dannet>"
        f"<Kommunekode>{CPR}</Kommunekode><AntalKrav>1</AntalKrav></Hoved>",
    )

    problems = _every_problem(raw) + _every_problem(header_with_cpr)

    assert len(problems) >= 8
    for problem in problems:
        text = " ".join(str(part) for part in problem.as_dict().values())
        assert CPR not in text
        assert bad_dates not in text
        assert CPR[:6] + "-" + CPR[6:] not in text


def test_examples_hold_no_problem_with_a_cpr_number() -> None:
    for example in sorted(Path(EXAMPLES).glob("*.xml")):
        for problem in _every_problem(example.read_bytes()):
            assert not re.search(r"\d{10}", " ".join(map(str, problem.as_dict().values())))


# --- encodings the contract does not allow ------------------------------------------------------


def test_a_byte_order_mark_with_another_declared_encoding_is_refused() -> None:
    raw = b"\xef\xbb\xbf" + batch(krav()).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')

    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    problem = error.problems[0]
    assert problem.code == "xml.malformed"
    assert "byte-order mark" in problem.message
    assert "ISO-8859-1" in problem.message


@pytest.mark.parametrize("encoding", ["windows-1252", "UTF-16"])
def test_an_encoding_outside_the_contract_is_refused(encoding: str) -> None:
    raw = batch(krav(), encoding=encoding)

    error = refusal(raw)

    assert isinstance(error, MessageParseError)
    assert codes(error.problems) == ["xml.encoding"]
    assert "ISO-8859-1" in error.problems[0].message


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be", "utf-32"])
def test_utf_32_is_refused_with_or_without_a_byte_order_mark(codec: str) -> None:
    # Without a mark or a declaration libxml2 guessed UTF-32 and read it, where the
    # contract reads such a file as UTF-8 (an outside probe).
    text = batch(krav()).decode("utf-8").split("?>", 1)[1].lstrip()

    error = refusal(text.encode(codec))

    assert isinstance(error, MessageParseError)
    assert codes(error.problems) == ["xml.encoding"]
    assert error.problems[0].source_path == "line 1"


@pytest.mark.parametrize("declared", ["ISO-8859-1", "latin1", "iso-8859-1"])
def test_the_contracts_encodings_are_read_under_any_of_their_names(declared: str) -> None:
    raw = batch(krav(), encoding="ISO-8859-1").replace(
        b'encoding="ISO-8859-1"', f'encoding="{declared}"'.encode()
    )

    assert candidates(raw) == candidates(batch(krav()))


def test_an_empty_file_says_so_in_its_problem() -> None:
    error = refusal(b"  \n")

    assert codes(error.problems) == ["xml.malformed"]
    assert error.problems[0].message == "the message is empty"


def test_a_comment_larger_than_libxml2s_own_cap_is_ignored_as_comments_are() -> None:
    raw = batch(krav()).replace(b"<Hoved>", b"<!--" + b"x" * 10_200_000 + b"--><Hoved>", 1)

    assert candidates(raw) == candidates(batch(krav()))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            batch(krav()).replace(b"\n<Batch", b"\n<!-- no <!DOCTYPE or <!ENTITY here -->\n<Batch"),
            id="comment-before-the-root",
        ),
        pytest.param(
            batch(krav()).replace(b"</Krav>", b"<!-- an <!ENTITY x 'y'> in a note --></Krav>"),
            id="comment-in-a-claim",
        ),
        pytest.param(
            batch(krav()).replace(
                b"<Beskrivelse>Tilbagebetaling",
                b"<Beskrivelse><![CDATA[<!ENTITY>]]> Tilbagebetaling",
            ),
            id="cdata-in-a-text",
        ),
        pytest.param(
            batch(krav()).replace(b"\n<Batch", b"\n<?note <!DOCTYPE is refused?>\n<Batch"),
            id="processing-instruction",
        ),
    ],
)
def test_a_declaration_only_mentioned_is_not_refused(raw: bytes) -> None:
    """The words <!DOCTYPE or <!ENTITY in a comment, CDATA or a processing instruction."""
    (candidate,) = candidates(raw)

    assert list(candidate.problems) == []
    assert candidate.source_reference == "SDP-2025-000001"


def test_a_declaration_after_a_long_comment_is_refused_where_it_is() -> None:
    raw = batch(krav()).replace(
        b"\n<Batch", b"\n<!-- " + b"x" * 10_000 + b" -->\n\n<!DOCTYPE Batch>\n<Batch"
    )

    error = refusal(raw)

    assert [(p.code, p.source_path) for p in error.problems] == [
        ("xml.doctype_forbidden", "line 4")
    ]


def test_an_unknown_elements_long_name_is_cut_in_its_place() -> None:
    name = "Ukendt" + "x" * 300
    (candidate,) = candidates(batch(krav(tail=f"<{name}>1</{name}>")))

    places = {problem.source_path for problem in candidate.problems}
    assert f"/Batch/Krav[1]/{name[:100]}" in places
    assert all(len(place or "") < 130 for place in places)


@pytest.mark.parametrize("count", [20, 21, 23])
def test_too_many_notes_are_told_once_where_the_first_one_too_many_is(count: int) -> None:
    # The schema refuses the 21st Note; the claim's own check found too many notes as well,
    # at the Krav: the same fault told twice (an outside probe).
    notes = "<Noter>" + "".join(f"<Note>Note {i}</Note>" for i in range(count)) + "</Noter>"
    [candidate] = candidates(batch(krav(tail=notes)))

    claim, problems = admit(candidate, catalogue())

    if count <= 20:
        assert claim is not None
        assert len(claim.notes) == count
        return
    assert [(p.code, p.source_path) for p in problems] == [
        ("xml.schema", "/Batch/Krav[1]/Noter/Note[21]")
    ]


@pytest.mark.parametrize(
    ("dannet", "created"),
    [
        ("2026-01-12T24:00:00Z", "2026-01-13T00:00:00+00:00"),
        ("2026-12-31T24:00:00.000+01:00", "2027-01-01T00:00:00+01:00"),
    ],
)
def test_a_batch_made_at_the_end_of_a_day_is_read(dannet: str, created: str) -> None:
    # xs:dateTime writes the end of a day as 24:00:00; it was refused (outside probe).
    raw = batch(krav()).replace(b"2026-01-12T05:40:12+01:00", dannet.encode())

    assert ADAPTER.parse(raw).created_at.isoformat() == created


@pytest.mark.parametrize(
    "dannet",
    ["2026-01-12T24:00:01Z", "9999-12-31T24:00:00Z", "9999-12-31T24:00:00.000+01:00"],
    ids=["past-the-end", "last-day-of-9999", "last-day-of-9999-with-fraction"],
)
def test_a_time_past_the_end_of_a_day_or_of_the_calendar_is_refused(dannet: str) -> None:
    # 9999-12-31T24:00:00 has no next day to be: it was a 500 (outside probe).
    raw = batch(krav()).replace(b"2026-01-12T05:40:12+01:00", dannet.encode())

    assert "batch.created_invalid" in codes(refusal(raw).problems)


def test_the_same_debtor_twice_is_refused_at_the_debtor_listed_again() -> None:
    # The list has no element of its own in KSD: the problem named the whole Krav (probe).
    again = f"<Medskyldner>{CITIZEN}</Medskyldner>"
    [candidate] = candidates(batch(krav(medskyldnere=again)))

    claim, problems = admit(candidate, catalogue())

    assert claim is None
    assert [(p.code, p.field, p.source_path) for p in problems] == [
        ("liability.duplicate_debtor", "liabilities.1", "/Batch/Krav[1]/Medskyldner[1]")
    ]


def test_too_many_documents_are_told_once_where_the_first_one_too_many_is() -> None:
    documents = "".join(f"<Dokument><Reference>D-{i}</Reference></Dokument>" for i in range(51))
    [candidate] = candidates(batch(krav(tail=f"<Dokumenter>{documents}</Dokumenter>")))

    _, problems = admit(candidate, catalogue())

    assert [(p.code, p.source_path) for p in problems] == [
        ("xml.schema", "/Batch/Krav[1]/Dokumenter/Dokument[51]")
    ]
