"""Valid KSD batch files of any size, for benchmarks and integration tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from xml.sax.saxutils import escape

from adapters.ksd.message import NAMESPACE

_NAMES = ("Søren Ærø Østergaard", "Åse Bødker Møller", "Jens Peter Hansen", "Birgitte Æbelø")
_BIRTH_BASE = dt.date(1950, 1, 1)


def cpr(index: int) -> str:
    """Return a made-up CPR number with a valid date, distinct for each index below 20 million."""
    born = _BIRTH_BASE + dt.timedelta(days=index % 10_000)
    serial = 1000 + index // 10_000  # 7th digit 1-2 with any year: born in the 1900s
    return born.strftime("%d%m%y") + f"{serial:04d}"


def cvr(index: int) -> str:
    """Return a made-up CVR/SE number that passes modulus 11, distinct for each index."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    base = 2_000_000 + index
    while True:
        digits = f"{base:07d}"
        check = -sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check < 10:
            return digits + str(check)
        base += 1_000_000  # keep numbers distinct: a skipped base moves to another million


def message(n: int, *, message_id: str, encoding: str = "UTF-8") -> bytes:
    """Return a valid KSD batch with `n` distinct claims, every tenth against an employer."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n',
        f'<Batch xmlns="{NAMESPACE}">\n',
        "  <Hoved>\n",
        f"    <BatchId>{escape(message_id)}</BatchId>\n",
        "    <Dannet>2026-01-15T06:30:00+01:00</Dannet>\n",
        "    <Kommunekode>751</Kommunekode>\n",
        f"    <AntalKrav>{n}</AntalKrav>\n",
        "  </Hoved>\n",
    ]
    for index in range(n):
        parts.append(_krav(index, message_id))
    parts.append("</Batch>\n")
    return "".join(parts).encode(encoding)


def _krav(index: int, message_id: str) -> str:
    start = dt.date(2025, 1, 6) + dt.timedelta(days=7 * (index % 40))
    end = start + dt.timedelta(days=13)
    due = end + dt.timedelta(days=45)
    srb = due + dt.timedelta(days=14)
    principal = Decimal(1500 + (index * 37) % 20000) + Decimal(index % 100) / 100
    amount = principal - Decimal(index % 3) * 100
    if index % 10 == 9:
        debtor = f"<CVR>{cvr(index)}</CVR><Navn>Vognmand Ærøskøbing ApS</Navn>"
        description = "Tilbagebetaling af refusion af sygedagpenge"
    else:
        debtor = f"<CPR>{cpr(index)}</CPR><Navn>{_NAMES[index % len(_NAMES)]}</Navn>"
        description = "Tilbagebetaling af sygedagpenge udbetalt med urette"
    return (
        "  <Krav>\n"
        f"    <KravId>S{index:07d}-{escape(message_id[-12:])}</KravId>\n"
        f"    <Skyldner>{debtor}</Skyldner>\n"
        f"    <Periode><Fra>{start}</Fra><Til>{end}</Til></Periode>\n"
        f"    <Hovedstol>{principal}</Hovedstol>\n"
        f"    <Beloeb>{amount}</Beloeb>\n"
        f"    <Stiftelsesdato>{end}</Stiftelsesdato>\n"
        f"    <Forfaldsdato>{due}</Forfaldsdato>\n"
        f"    <SidsteRettidigeBetalingsdato>{srb}</SidsteRettidigeBetalingsdato>\n"
        f"    <Varslingsdato>{due}</Varslingsdato>\n"
        f"    <Beskrivelse>{description} {start:%d.%m.%Y}-{end:%d.%m.%Y}</Beskrivelse>\n"
        "    <Lovgrundlag>Lov om sygedagpenge</Lovgrundlag>\n"
        "  </Krav>\n"
    )
