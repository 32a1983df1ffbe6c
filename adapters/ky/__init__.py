"""The KY adapter: JSON repayment claims (tilbagebetalingskrav) from Kommunernes Ydelsessystem.

The contract is `contracts/ky/README.md` and `contracts/ky/message.schema.json`.
"""

from __future__ import annotations

from adapters.base import Adapter
from adapters.ky.mapping import to_candidates
from adapters.ky.message import MEDIA_TYPE, KyMessage, message_id, parse
from app.domain.claim import SourceSystem

ADAPTER: Adapter[KyMessage] = Adapter(
    source=SourceSystem.KY,
    media_types=(MEDIA_TYPE,),
    parse=parse,
    to_candidates=to_candidates,
    message_id=message_id,
)

__all__ = ["ADAPTER", "KyMessage", "parse", "to_candidates"]
