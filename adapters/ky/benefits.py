"""KY's benefit codes and the fordringstype each maps to: data in `contracts/ky/benefits.json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BENEFITS_PATH = Path(__file__).resolve().parents[2] / "contracts" / "ky" / "benefits.json"


@dataclass(frozen=True, slots=True)
class Benefit:
    """One benefit KY can demand back: its code, Danish name, fordringstype and legal basis."""

    code: str
    name: str
    fordringstype: str | None
    legal_basis: str | None


def from_dict(data: Mapping[str, object]) -> dict[str, Benefit]:
    """Build the benefit table from its JSON form.

    Raises:
        ValueError: a code is listed twice or an entry is not shaped as documented.
    """
    entries = data.get("benefits")
    if not isinstance(entries, list):
        raise ValueError("benefits.json must hold a list 'benefits'")
    table: dict[str, Benefit] = {}
    for entry in entries:
        code, name = entry.get("code"), entry.get("name")
        fordringstype, legal_basis = entry.get("fordringstype"), entry.get("legalBasis")
        if not isinstance(code, str) or not isinstance(name, str):
            raise ValueError(f"benefit entry {entry!r} needs a code and a name")
        if fordringstype is not None and (
            not isinstance(fordringstype, str) or len(fordringstype) != 7
        ):
            raise ValueError(f"benefit {code}: fordringstype must be a 7-character code or null")
        if legal_basis is not None and not isinstance(legal_basis, str):
            raise ValueError(f"benefit {code}: legalBasis must be text or null")
        if code in table:
            raise ValueError(f"benefit {code} is listed twice")
        table[code] = Benefit(code, name, fordringstype, legal_basis)
    return table


@cache
def benefits() -> Mapping[str, Benefit]:
    """Return the benefit table, loaded once from `contracts/ky/benefits.json`.

    Raises:
        ValueError: the file is not a consistent benefit table.
    """
    return from_dict(json.loads(BENEFITS_PATH.read_text(encoding="utf-8")))
