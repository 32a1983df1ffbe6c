"""The fordringstype catalogue: it loads, matches its schema, covers the known codes and reports.

`contracts/psrm/README.md` holds two generated tables (rules; areas and types). After a
deliberate change to the catalogue or the engine, regenerate them with
`.venv/bin/python -m tests.contract.test_catalogue` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.domain import catalogue as catalogue_module
from app.domain.catalogue import Catalogue, FordringType, derive_limitation_date
from app.domain.claim import CanonicalClaim, ClaimCategory
from app.domain.rules import (
    DEFAULTS,
    REQUIRED_FIELDS,
    RULES,
    check_catalogue,
    evaluate,
    meaning,
)

ROOT = Path(__file__).resolve().parents[2]
PSRM = ROOT / "contracts" / "psrm"
CATALOGUE_PATH = PSRM / "catalogue.json"
SCHEMA_PATH = PSRM / "catalogue.schema.json"
README_PATH = PSRM / "README.md"
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"

# interfaces.md §1.8, every code named there, area by area.
SECTION_1_8 = {
    "socialret": [
        "KTTIBAK", "KTNEBOF", "KFNEBOF", "KTBRMUD", "KTBRRRL", "KTBRIUK", "KTBRENK", "KTBRROV",
        "KTBRKYD", "KTBRFLX", "KTBRSER", "KTVILFL", "KTNEBOL", "KTCIVIL", "KTSEREV", "KTNESÆR",
        "KTNESTØ", "KTSTRAF", "KFBILØK", "KFBILLA", "KTAKJOA", "KFPERTI",
    ],
    "daginstitution": [
        "KFTILDA", "KFDAINS", "KFSKFRI", "KFTØFIN", "KFLRUNG", "KFGEDAI", "KFTBBSF", "KFOMDAG",
        "GEDAINS", "REOPDAG",
    ],
    "renter": ["REOPKOM", "REOPDAG", "KFOPREN", "KOPRORE", "REINDGI", "PROCREN"],
    "bolig_lejeret": ["DFHUSLJ", "DKFLYTT", "REHUSLJ"],
    "service_sundhed": ["KFBOTMO", "KFEBHUV"],
    "ejendom": ["KFROTFO"],
    "forbrug_renovation": ["KFGETIV", "KFPROGE"],
    "other": ["KFMILJØ", "KFGFEJL", "ERLÅNEN", "CFFAKTU"],
}  # fmt: skip

AREAS = {
    "socialret": "Socialret",
    "daginstitution": "Daginstitution",
    "renter": "Renter",
    "gebyrer": "Gebyrer",
    "bolig": "Bolig",
    "lejeret": "Lejeret",
    "ejendom": "Ejendom og relaterede bidrag",
    "forbrug_renovation": "Forbrug og renovation",
    "service_sundhed": "Service og sundhed",
    "miljoe": "Miljøafgifter og -gebyrer",
    "civilret": "Civilretlige fordringer",
    "parkering": "Parkeringsafgifter",
    "diverse_1": "Diverse 1",
    "diverse_2": "Diverse 2",
}

# The rows of Tabel 1 (arrears by area) in shared/domain/arrears-report-2020.json, copied so
# the test does not depend on a file outside the repository.
TABEL_1 = [
    "Krav fra Salgsstyringssystem",
    "Daginstitution, SFO og Klub",
    "Husleje",
    "Klientbetaling",
    "Ejendomsskat",
    "Boliglån",
    "Tidligere Kommuner (Nr. Djurs, Grenå mm.)",
    "Kulturskole",
    "Familieafdelingen",
    "Billån",
    "Børn og Voksne",
    "Entreprenørgården",
    "Tilbagebetalingspl. Kontanthjælp",
    "Sygedagpenge",
    "Byg og Miljø",
    "Servicepakker",
    "Byggesagsgebyr",
    "For meget udbetalt løn",
    "Kultur og Fritid",
    "Fakturaadministration",
]

# Tabel 2 (write-offs by area), where its names differ, less "Øvrige små afskrivninger".
TABEL_2 = [
    "Kontanthjælp",
    "Børn og Voksne",
    "Krav fra Salgsstyringssystem",
    "Boliglån",
    "Klientbetaling",
    "Husleje",
    "Fakturaadministration",
    "Ejendomsskat",
    "For meget udbetalt Løn",
    "Daginstitution, SFO og Klub",
    "Billån",
]

# The seed types other helpers' golden files depend on: these fields must not change.
SEED: dict[str, dict[str, Any]] = {
    "KTTIBAK": {"area": "socialret", "regime": ("lapse", 3, "period_end_date"), "local": False},
    "KTNEBOF": {"area": "socialret", "regime": ("limitation", 10, "due_date"), "local": False},
    "KLSYGDP": {"area": "socialret", "regime": ("limitation", 3, "due_date"), "local": True},
    "KLSYGAG": {"area": "socialret", "regime": ("limitation", 3, "due_date"), "local": True},
    "KFDAINS": {"area": "daginstitution", "regime": ("limitation", 3, "due_date"), "local": False},
    "REOPKOM": {"area": "renter", "regime": ("limitation", 3, "due_date"), "local": False},
}

# The KFDAINS entry filter as published (interfaces.md §1.3).
KFDAINS_RULES = {
    **dict.fromkeys(
        [
            "R_1_1", "R_1_2", "R_2_1", "R_2_3a", "R_3_1", "R_4_1", "R_4_4", "R_4_7", "R_5_1",
            "R_5_2", "R_5_3", "R_6_1", "R_6_5", "R_6_16", "R_7_1", "R_7_2", "R_7_3", "R_7_4",
            "R_7_5", "R_7_11", "R_7_12",
        ],
        "reject",
    ),
    **dict.fromkeys(["R_2_3", "R_4_2", "R_6_6", "R_6_19", "R_6_20"], "hearing"),
}  # fmt: skip

DAYCARE_TYPES = ["KFDAINS", "KFSKFRI", "KFTILDA", "KFTBBSF", "KFTØFIN", "KFLRUNG", "KFGEDAI",
                 "KFOMDAG"]  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return catalogue_module.load(CATALOGUE_PATH)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return data


def test_the_file_is_utf8_with_danish_letters_unescaped() -> None:
    text = CATALOGUE_PATH.read_bytes().decode("utf-8")
    assert "KFBILØK" in text
    assert "\\u00d8" not in text.lower()


def test_it_validates_against_its_schema(raw: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(raw)


def test_the_schema_refuses_a_local_code_without_kl() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    bad = {
        "version": "x",
        "areas": [{"code": "socialret", "name": "Socialret"}],
        "types": [
            {
                "code": "KTXXXXX",
                "name": "x",
                "area": "socialret",
                "category": "HF",
                "arts": ["INDR"],
                "regime": {"kind": "limitation", "years": 3, "from": "due_date"},
                "local": True,
                "source": "x",
                "rules": [],
            }
        ],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_every_rule_is_known_to_the_engine(catalogue: Catalogue) -> None:
    check_catalogue(catalogue)


def test_the_areas_are_exactly_the_fourteen(catalogue: Catalogue) -> None:
    assert {code: area.name for code, area in catalogue.areas.items()} == AREAS
    assert all(catalogue.types_in(code) for code in AREAS), "every area has a type"


def test_every_code_has_seven_characters(catalogue: Catalogue) -> None:
    assert all(len(code) == 7 for code in catalogue.types)


@pytest.mark.parametrize("code", sorted({code for codes in SECTION_1_8.values() for code in codes}))
def test_every_code_of_interfaces_1_8_is_present(catalogue: Catalogue, code: str) -> None:
    assert code in catalogue.types


@pytest.mark.parametrize("code", sorted(SEED))
def test_the_seed_types_are_unchanged(catalogue: Catalogue, code: str) -> None:
    kind = catalogue.types[code]
    seed = SEED[code]
    regime = (kind.regime.kind, kind.regime.years, kind.regime.from_field)
    assert (kind.area, regime, kind.local) == (seed["area"], seed["regime"], seed["local"])
    assert kind.arts == ("INDR",)
    assert kind.category is (ClaimCategory.UF if code == "REOPKOM" else ClaimCategory.HF)
    if code != "REOPKOM":
        assert "REOPKOM" in kind.related_types


def test_tabel_1_has_its_twenty_rows() -> None:
    assert len(set(TABEL_1)) == 20


@pytest.mark.parametrize("row", TABEL_1)
def test_every_tabel_1_row_is_covered(catalogue: Catalogue, row: str) -> None:
    assert any(row in kind.report_areas for kind in catalogue.types.values())


@pytest.mark.parametrize("row", TABEL_2)
def test_every_tabel_2_row_is_covered(catalogue: Catalogue, row: str) -> None:
    assert any(row in kind.report_areas for kind in catalogue.types.values())


def test_report_areas_named_in_the_brief(catalogue: Catalogue) -> None:
    def types_for(row: str) -> set[str]:
        return {code for code, kind in catalogue.types.items() if row in kind.report_areas}

    assert {"KLSYGDP", "KLSYGAG"} <= types_for("Sygedagpenge")
    assert "DFHUSLJ" in types_for("Husleje")
    assert {"KFBILØK", "KFBILLA"} <= types_for("Billån")
    assert "KTNEBOF" in types_for("Boliglån")
    assert "CFFAKTU" in types_for("Fakturaadministration")
    assert {"KFDAINS", "KFSKFRI"} <= types_for("Daginstitution, SFO og Klub")
    assert "KTTIBAK" in types_for("Tilbagebetalingspl. Kontanthjælp")
    assert all(catalogue.types[code].local for code in types_for("Ejendomsskat"))


def test_local_codes_are_marked_and_sourced(catalogue: Catalogue) -> None:
    local = [kind for kind in catalogue.types.values() if kind.local]
    assert len(local) >= 12
    for kind in catalogue.types.values():
        assert kind.local is kind.code.startswith("KL"), kind.code
    for kind in local:
        assert kind.source.startswith("LOCAL CODE"), kind.code
        assert "not" in kind.source, kind.code


def test_every_type_has_a_name_a_source_and_rules(catalogue: Catalogue) -> None:
    for kind in catalogue.types.values():
        assert kind.name, kind.code
        assert kind.source, kind.code
        assert kind.rules, kind.code


def test_kfdains_has_the_published_entry_filter(catalogue: Catalogue) -> None:
    published = {
        spec.id: spec.consequence
        for spec in catalogue.types["KFDAINS"].rules
        if spec.id in KFDAINS_RULES
    }
    assert published == KFDAINS_RULES


def test_related_types_follow_the_rules_of_thumb(catalogue: Catalogue) -> None:
    for kind in catalogue.types.values():
        assert all(catalogue.types[r].category is ClaimCategory.UF for r in kind.related_types)
        if kind.category is ClaimCategory.HF:
            assert "REOPKOM" in kind.related_types, kind.code
        else:
            assert kind.related_types == (), kind.code
    for code in DAYCARE_TYPES:
        assert {"REOPDAG", "GEDAINS"} <= set(catalogue.types[code].related_types), code
    assert "REHUSLJ" in catalogue.types["DFHUSLJ"].related_types


def test_uf_types_are_interest_and_fees(catalogue: Catalogue) -> None:
    uf = {code for code, kind in catalogue.types.items() if kind.category is ClaimCategory.UF}
    assert uf == {
        "REOPKOM",
        "REOPDAG",
        "KFOPREN",
        "KOPRORE",
        "REINDGI",
        "PROCREN",
        "GEDAINS",
        "REHUSLJ",
    }


def test_regimes_named_in_interfaces(catalogue: Catalogue) -> None:
    def regime(code: str) -> tuple[str, int, str]:
        item = catalogue.types[code].regime
        return item.kind, item.years, item.from_field

    assert regime("KTTIBAK") == ("lapse", 3, "period_end_date")
    assert regime("KFTILDA") == regime("KFTBBSF") == ("lapse", 5, "period_end_date")
    for code in ("KTNEBOF", "KFNEBOF", "KFBILØK", "KFBILLA"):
        assert regime(code) == ("limitation", 10, "due_date")
    assert regime("CFFAKTU") == ("limitation", 3, "due_date")


def test_every_type_requires_the_date_its_regime_counts_from(catalogue: Catalogue) -> None:
    for kind in catalogue.types.values():
        required = {REQUIRED_FIELDS[spec.id] for spec in kind.rules if spec.id in REQUIRED_FIELDS}
        assert kind.regime.from_field in required, kind.code


def test_lapse_types_cap_the_lapse_date_with_r_2_2(catalogue: Catalogue) -> None:
    for kind in catalogue.types.values():
        ids = {spec.id for spec in kind.rules}
        assert ("R_2_2" in ids) is (kind.regime.kind == "lapse"), kind.code


def test_every_type_has_one_hearing_cap(catalogue: Catalogue) -> None:
    caps = set()
    for kind in catalogue.types.values():
        specs = [spec for spec in kind.rules if spec.id == "R_4_2"]
        assert [spec.consequence for spec in specs] == ["hearing"], kind.code
        caps.add(specs[0].params["cap"])
    assert {"250", "2000", "5000", "10000", "50000", "100000"} <= caps


@pytest.mark.parametrize("code", sorted(catalogue_module.load(CATALOGUE_PATH).types))
def test_a_well_formed_claim_of_every_type_passes_its_rules(
    catalogue: Catalogue, code: str
) -> None:
    kind = catalogue.types[code]
    dates = {
        "period_start_date": dt.date(2025, 1, 1),
        "period_end_date": dt.date(2025, 1, 31),
        "founding_date": dt.date(2025, 1, 1),
        "due_date": dt.date(2025, 1, 1),
        "srb_date": dt.date(2025, 1, 15),
    }
    # The limitation date kravbro derives at admission must satisfy the type's own rules.
    limitation = derive_limitation_date(kind, dates=dates)
    assert limitation is not None
    related = kind.category is ClaimCategory.UF
    claim = CanonicalClaim.model_validate(
        {
            "source": "oir",
            "source_reference": "OIR-1",
            "claimant_reference": "REF-1",
            "claimant_id": "1234",
            "fordringstype": code,
            "category": kind.category.value,
            "main_claim_reference": "OIR-0" if related else None,
            "business_area": kind.area,
            "principal": "100.00",
            "amount": "100.00",
            **{name: day.isoformat() for name, day in dates.items()},
            "liabilities": [
                {"debtor_kind": "CVR", "debtor_id": "13585628", "limitation_date": limitation}
            ],
            "description": "Opkrævning januar 2025",
        }
    )
    assert evaluate(claim, kind, receipt_date=dt.date(2025, 6, 1)) == []


# --- the README's generated tables ---------------------------------------------------------------


def _params_text(rule: str) -> str:
    return ", ".join(f"`{name}` = {json.dumps(value)}" for name, value in DEFAULTS[rule].items())


def _regime_text(kind: FordringType) -> str:
    regime = kind.regime
    return f"{regime.kind} {regime.years} y from {regime.from_field.removesuffix('_date')}"


def _cap(kind: FordringType) -> str:
    caps = [
        spec.params.get("cap", DEFAULTS["R_4_2"]["cap"])
        for spec in kind.rules
        if spec.id == "R_4_2"
    ]
    return f"{Decimal(caps[0]):,}".replace(",", ".") if caps else ""


def render_tables(catalogue: Catalogue) -> str:
    """The README's generated part: the rule table, then the areas and their types."""
    used: dict[str, set[str]] = {rule: set() for rule in RULES}
    count: dict[str, int] = dict.fromkeys(RULES, 0)
    for kind in catalogue.types.values():
        for spec in kind.rules:
            used[spec.id].add(spec.consequence)
            count[spec.id] += 1
    lines = [
        "### Rules",
        "",
        "| id | meaning | params (defaults) | consequence in the catalogue | types |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        consequences = ", ".join(sorted(used[rule])) or "(unused)"
        cells = [f"`{rule}`", meaning(rule), _params_text(rule), consequences, str(count[rule])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "### Areas and types", ""]
    for code, area in catalogue.areas.items():
        lines += [
            f"#### {area.name} (`{code}`)",
            "",
            "| code | name | cat | regime | R_4_2 cap | related types | report areas |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for kind in sorted(catalogue.types_in(code), key=lambda item: item.code):
            name = kind.name + (" **(local code)**" if kind.local else "")
            related = ", ".join(kind.related_types)
            report = "; ".join(kind.report_areas)
            lines.append(
                f"| `{kind.code}` | {name} | {kind.category.value} | {_regime_text(kind)} "
                f"| {_cap(kind)} | {related} | {report} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _generated_part(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def test_the_readme_tables_are_up_to_date(catalogue: Catalogue) -> None:
    text = README_PATH.read_text(encoding="utf-8")
    assert _generated_part(text) == render_tables(catalogue), (
        "regenerate with: .venv/bin/python -m tests.contract.test_catalogue"
    )


def main() -> None:
    """Rewrite the generated part of contracts/psrm/README.md."""
    text = README_PATH.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    tables = render_tables(catalogue_module.load(CATALOGUE_PATH))
    README_PATH.write_text(f"{head}{BEGIN}\n{tables}{END}{tail}", encoding="utf-8")
    print(f"wrote {README_PATH.relative_to(ROOT)}", file=sys.stdout)


if __name__ == "__main__":
    main()
