"""Hearing decisions: in production a person makes them in Fordringshaverportalen.

PSRM has no system-to-system operation for answering a hearing, so against the real PSRM
kravbro only records the decision and waits for the receipt to change. Against the simulator
the decision is passed on to its admin endpoint, standing in for the portal.
"""

from __future__ import annotations

import httpx


class HearingPortal:
    """Passes a hearing decision on where it can be (the simulator), or nowhere (real PSRM)."""

    def __init__(self, simulator_url: str | None, *, timeout: float = 10.0) -> None:
        self.simulator_url = simulator_url.rstrip("/") if simulator_url else None
        self._timeout = timeout

    def decide_hearing(self, *, action_id: str, confirm: bool) -> bool:
        """Pass a decision on; return whether it reached a system (False: done by hand).

        Raises:
            httpx.HTTPError: the simulator did not take it.
        """
        if self.simulator_url is None:
            return False
        response = httpx.post(
            f"{self.simulator_url}/admin/hearing/{action_id}",
            json={"decision": "confirm" if confirm else "withdraw"},
            timeout=self._timeout,
        )
        response.raise_for_status()
        return True
