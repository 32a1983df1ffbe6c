"""Hearing decisions: in production a person makes them in Fordringshaverportalen.

PSRM has no system-to-system operation for answering a hearing, so against the real PSRM
kravbro only records the decision and waits for the receipt to change. Against the simulator
the decision is passed on to its admin endpoint, standing in for the portal.

Its errors are the PSRM client's: `PsrmRequestRejected` when the simulator answered and did
not take the decision (a 4xx: no claim waits in hearing under that action id),
`PsrmUnavailable` when it could not be reached, did not answer in time or answered 5xx.
"""

from __future__ import annotations

import httpx

from adapters.psrm.client import PsrmRequestRejected, PsrmUnavailable
from app.domain.identifiers import redact_cpr_like


class HearingPortal:
    """Passes a hearing decision on where it can be (the simulator), or nowhere (real PSRM)."""

    def __init__(
        self,
        simulator_url: str | None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.simulator_url = simulator_url.rstrip("/") if simulator_url else None
        self._timeout = timeout
        self._transport = transport

    def decide_hearing(self, *, action_id: str, confirm: bool) -> bool:
        """Pass a decision on; return whether it reached a system (False: done by hand).

        Raises:
            PsrmRequestRejected: the simulator answered and refused the decision.
            PsrmUnavailable: the simulator could not be reached, timed out or answered 5xx;
                whether it took the decision is not known.
        """
        if self.simulator_url is None:
            return False
        decision = "confirm" if confirm else "withdraw"
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as http:
                response = http.post(
                    f"{self.simulator_url}/admin/hearing/{action_id}", json={"decision": decision}
                )
        except httpx.TimeoutException as exc:
            raise PsrmUnavailable(
                f"PSRM did not answer the hearing decision in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise PsrmUnavailable(
                f"PSRM could not be reached for the hearing decision ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return True
        said = _reason(response)
        if status >= 500:
            raise PsrmUnavailable(f"PSRM answered HTTP {status}{said}", status_code=status)
        raise PsrmRequestRejected(f"PSRM answered HTTP {status}{said}", status_code=status)


def _reason(response: httpx.Response) -> str:
    """Return `: <the reason the simulator gave>`, short and CPR-masked, or nothing."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    return f": {redact_cpr_like(detail)[:300]}" if isinstance(detail, str) and detail else ""
