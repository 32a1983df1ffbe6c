"""The KSD adapter: sygedagpenge repayment claims from KSD's XML batch files.

Contract: `contracts/ksd/README.md` and `contracts/ksd/batch.xsd`.
"""

from __future__ import annotations

from adapters.base import Adapter
from adapters.ksd.mapping import to_candidates
from adapters.ksd.message import KsdBatch, message_id, parse
from app.domain.claim import SourceSystem

ADAPTER: Adapter[KsdBatch] = Adapter(
    source=SourceSystem.KSD,
    media_types=("application/xml", "text/xml"),
    parse=parse,
    to_candidates=to_candidates,
    message_id=message_id,
)

__all__ = ["ADAPTER", "KsdBatch", "parse", "to_candidates"]
