"""API keys: who is calling and what they may do. Keys are compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from app.errors import Forbidden, NotAuthenticated
from app.settings import ApiKey


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    name: str
    roles: frozenset[str]
    source: str | None = None

    def may_post_to(self, source: str) -> bool:
        """Tell whether the caller may post messages to `source`'s intake."""
        return "admin" in self.roles or ("fagsystem" in self.roles and self.source == source)

    @property
    def sees_all_claims(self) -> bool:
        """Staff roles read every claim; a fagsystem reads only its own."""
        return bool(self.roles & {"admin", "operations", "reconciliation", "auditor"})

    def require(self, *roles: str) -> None:
        """Raise Forbidden unless the caller has one of `roles` (admin has all).

        Raises:
            Forbidden: none of the roles.
        """
        if "admin" not in self.roles and not self.roles & set(roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    """The configured keys, held as SHA-256 digests."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        for item in keys:
            if item.key is not None:
                digest = _digest(item.key.get_secret_value())
            elif item.key_sha256:
                digest = bytes.fromhex(item.key_sha256)
            else:
                continue
            principal = Principal(item.principal, frozenset(item.roles), item.source)
            self._entries.append((digest, principal))

    def authenticate(self, authorization: str | None) -> Principal:
        """Return the caller behind an `Authorization: Bearer <key>` header.

        Raises:
            NotAuthenticated: no header, not a bearer key, or an unknown key.
        """
        if not authorization or not authorization.lower().startswith("bearer "):
            raise NotAuthenticated("send an API key as 'Authorization: Bearer <key>'")
        presented = _digest(authorization[7:].strip())
        found: Principal | None = None
        # Compare against every key, so the time taken does not tell which one matched.
        for digest, principal in self._entries:
            if hmac.compare_digest(digest, presented):
                found = principal
        if found is None:
            raise NotAuthenticated("the API key is not valid")
        return found
