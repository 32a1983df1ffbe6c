"""The catalogue of fordringstyper: business area, art, category, limitation regime, entry rules.

The catalogue is data (`contracts/psrm/catalogue.json`), loaded once and passed around; the
same catalogue drives intake checks, readiness, the on-boarding dry run and the PSRM simulator.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.domain.claim import ClaimCategory, FordringArt

RegimeKind = Literal["limitation", "lapse"]
Consequence = Literal["reject", "hearing"]


@dataclass(frozen=True, slots=True)
class Regime:
    """How a type's claims become unenforceable: limitation (forældelse) or lapse (bortfald)."""

    kind: RegimeKind
    years: int
    from_field: str
    judgment_years: int = 10


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One entry rule of PSRM's filter for a type: id, parameters and consequence."""

    id: str
    consequence: Consequence
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Area:
    """A business area (forretningsområde), on-boarded to PSRM as a whole."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class FordringType:
    """One fordringstype and everything kravbro needs to know about it."""

    code: str
    name: str
    area: str
    category: ClaimCategory
    arts: tuple[FordringArt, ...]
    regime: Regime
    local: bool = False
    source: str = ""
    related_types: tuple[str, ...] = ()
    report_areas: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All known fordringstyper and business areas."""

    version: str
    areas: Mapping[str, Area]
    types: Mapping[str, FordringType]

    def get(self, code: str | None) -> FordringType | None:
        """Return the type with `code`, or None when the catalogue does not know it."""
        return self.types.get(code) if code else None

    def types_in(self, area: str) -> list[FordringType]:
        """Return the types of a business area."""
        return [item for item in self.types.values() if item.area == area]


def load(path: Path) -> Catalogue:
    """Load a catalogue from its JSON file.

    Raises:
        ValueError: the file is not a consistent catalogue (unknown area, bad regime, ...).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    return from_dict(data)


def from_dict(data: Mapping[str, Any]) -> Catalogue:
    """Build a catalogue from its JSON form, checking it is consistent.

    Raises:
        ValueError: an inconsistency, named.
    """
    areas = {item["code"]: Area(code=item["code"], name=item["name"]) for item in data["areas"]}
    types: dict[str, FordringType] = {}
    for item in data["types"]:
        code = item["code"]
        if len(code) != 7:
            raise ValueError(f"fordringstype {code!r} must have 7 characters")
        if item["area"] not in areas:
            raise ValueError(f"fordringstype {code} names unknown area {item['area']!r}")
        if code in types:
            raise ValueError(f"fordringstype {code} is listed twice")
        regime = item["regime"]
        types[code] = FordringType(
            code=code,
            name=item["name"],
            area=item["area"],
            category=ClaimCategory(item.get("category", "HF")),
            arts=tuple(FordringArt(art) for art in item.get("arts", ["INDR"])),
            regime=Regime(
                kind=regime["kind"],
                years=int(regime["years"]),
                from_field=regime.get("from", "due_date"),
                judgment_years=int(regime.get("judgment_years", 10)),
            ),
            local=bool(item.get("local", False)),
            source=item.get("source", ""),
            related_types=tuple(item.get("related_types", ())),
            report_areas=tuple(item.get("report_areas", ())),
            rules=tuple(
                RuleSpec(
                    id=rule["id"], consequence=rule["consequence"], params=rule.get("params", {})
                )
                for rule in item.get("rules", ())
            ),
        )
    for item in types.values():
        for related in item.related_types:
            if related not in types:
                raise ValueError(f"fordringstype {item.code} allows unknown related type {related}")
    return Catalogue(version=str(data.get("version", "")), areas=areas, types=types)


def derive_limitation_date(
    kind: FordringType,
    *,
    dates: Mapping[str, dt.date | None],
    judgment_date: dt.date | None = None,
    settlement_date: dt.date | None = None,
) -> dt.date | None:
    """Compute a liability's limitation (or lapse) date from the type's regime, if possible.

    A judgment or settlement gives `judgment_years` from its date; otherwise `years` from the
    regime's starting date field (due date, period end, ...). None when that date is unknown,
    or when the limitation date would fall past what a date can hold (year 9999: the claim's
    dates are out of range, which its validation reports).
    """
    founded = judgment_date or settlement_date
    if founded is not None:
        return _add_years(founded, kind.regime.judgment_years)
    start = dates.get(kind.regime.from_field)
    return _add_years(start, kind.regime.years) if start is not None else None


def _add_years(day: dt.date, years: int) -> dt.date | None:
    if day.year + years > dt.MAXYEAR:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
