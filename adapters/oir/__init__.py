"""The ØiR adapter: SF1590_B_1 DebitorRegistrering messages, bare or in a SOAP envelope."""

from __future__ import annotations

from adapters.base import Adapter
from adapters.oir.mapping import to_candidates
from adapters.oir.message import DebtorRegistration, parse
from app.domain.claim import SourceSystem

MEDIA_TYPES = ("application/xml", "text/xml", "application/soap+xml")


def message_id(message: DebtorRegistration) -> str:
    """Return the message's MeddelelseID."""
    return message.message_id


ADAPTER: Adapter[DebtorRegistration] = Adapter(
    source=SourceSystem.OIR,
    media_types=MEDIA_TYPES,
    parse=parse,
    to_candidates=to_candidates,
    message_id=message_id,
)

__all__ = ["ADAPTER", "MEDIA_TYPES", "DebtorRegistration", "message_id", "parse", "to_candidates"]
