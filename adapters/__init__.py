"""Source adapters: one per fagsystem, registered in one explicit dict.

Adapters import only `app.domain`; HTTP and the database stay in `app`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from adapters.base import Adapter
from app.domain.claim import SourceSystem


@cache
def registry() -> dict[SourceSystem, Adapter[Any]]:
    """Return the adapter of every source system (the same dict every time: do not change it)."""
    from adapters import ksd, ky, oir

    return {
        SourceSystem.KY: ky.ADAPTER,
        SourceSystem.KSD: ksd.ADAPTER,
        SourceSystem.OIR: oir.ADAPTER,
    }
