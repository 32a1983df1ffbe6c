"""The bare endpoint the intake benchmark compares kravbro with: KY's work, and nothing stored.

`POST /bare/ky` reads the body and does exactly the parse → map → validate work of the KY
intake (`adapters.ky.ADAPTER.parse`, `to_candidates`, `app.domain.admission.admit`), then
answers 202 with one small result per claim. No key, no database, no log line. Served by
`bench_intake` as `uvicorn tests.benchmarks.bare_app:create_app --factory`, in its own process.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from adapters.base import MappingContext
from adapters.ky import ADAPTER
from app.domain import catalogue as catalogue_module
from app.domain.admission import admit
from app.settings import ROOT


async def _read_body(request: Request) -> bytes:
    return await request.body()


def create_app() -> FastAPI:
    """Build the bare app: one POST route, the catalogue loaded once."""
    catalogue = catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")
    context = MappingContext(claimant_id="1234", catalogue=catalogue)
    app = FastAPI(title="bare KY parse + map + validate")

    @app.post("/bare/ky", status_code=202)
    def bare_ky(body: Annotated[bytes, Depends(_read_body)]) -> Response:
        """Parse, map and validate a KY message like the intake does; store nothing."""
        message = ADAPTER.parse(body)
        results = []
        for candidate in ADAPTER.to_candidates(message, context):
            claim, problems = admit(candidate, catalogue)
            results.append(
                {
                    "index": candidate.index,
                    "source_reference": candidate.source_reference,
                    "result": "accepted" if claim is not None else "rejected",
                    "problems": [p.as_dict() for p in problems],
                }
            )
        answer = {"message_id": ADAPTER.message_id(message), "claims": results}
        return Response(orjson.dumps(answer), status_code=202, media_type="application/json")

    return app
