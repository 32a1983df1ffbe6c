"""Valid DebitorRegistrering messages of any size, for benchmarks and tests."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from adapters.oir.message import NAMESPACE

_CLAIMS_PER_ACCOUNT = 5
_TYPES = ("KTTIBAK", "KTNEBOF", "KLSYGDP", "KFDAINS")
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _cpr(n: int) -> str:
    # Made-up CPR numbers with a valid date (DDMMYY) and a running serial part.
    day = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)
    return f"{day:%d%m%y}{n % 10000:04d}"


def _claim(n: int) -> str:
    kind = _TYPES[n % len(_TYPES)]
    month = 1 + n % 12
    start = dt.date(2025, month, 1)
    end = dt.date(2025, month, 28)
    due = dt.date(2025, month, 10)
    srb = due + dt.timedelta(days=14)
    principal = 1000 + (n * 37) % 90000
    amount = principal - 1 - n % 500
    return (
        "<Fordring>"
        f"<FordringID>S-{n:07d}</FordringID>"
        f"<Fordringstype>{kind}</Fordringstype>"
        f"<Hovedstol>{principal}.00</Hovedstol>"
        f"<Beloeb>{amount}.50</Beloeb>"
        f"<Periode><FraDato>{start}</FraDato><TilDato>{end}</TilDato></Periode>"
        f"<Stiftelsesdato>{start}</Stiftelsesdato>"
        f"<Forfaldsdato>{due}</Forfaldsdato>"
        f"<SRBDato>{srb}</SRBDato>"
        f"<VarslingsDato>{srb + dt.timedelta(days=7)}</VarslingsDato>"
        "<Beskrivelse>Tilbagebetaling efter afgørelse</Beskrivelse>"
        "</Fordring>"
    )


def message(n: int, *, message_id: str, soap: bool = False) -> bytes:
    """Return a valid message with `n` distinct main claims, five to a debitor account.

    Raises:
        ValueError: `n` is less than 1 (a message holds at least one claim).
    """
    if n < 1:
        raise ValueError("a message holds at least one claim")
    parts = [
        f'<DebitorRegistrering xmlns="{NAMESPACE}">',
        "<MeddelelseHoved>",
        f"<MeddelelseID>{escape(message_id)}</MeddelelseID>",
        "<AfsendtTidspunkt>2026-01-15T08:30:00+01:00</AfsendtTidspunkt>",
        "<AfsenderSystem>KY</AfsenderSystem>",
        "<KommuneKode>101</KommuneKode>",
        "</MeddelelseHoved>",
    ]
    for first in range(0, n, _CLAIMS_PER_ACCOUNT):
        account = first // _CLAIMS_PER_ACCOUNT
        parts.append(
            f"<DebitorKonto><KontoID>K-{account:07d}</KontoID>"
            f"<CPRNummer>{_cpr(account)}</CPRNummer><Navn>Borger {account}</Navn>"
        )
        parts.extend(_claim(i) for i in range(first, min(n, first + _CLAIMS_PER_ACCOUNT)))
        parts.append("</DebitorKonto>")
    parts.append("</DebitorRegistrering>")
    body = "".join(parts)
    if soap:
        body = (
            f'<soap:Envelope xmlns:soap="{_SOAP}"><soap:Header/>'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>"
        )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
