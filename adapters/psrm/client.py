"""The PSRM client: one `httpx.Client` for PSRM's three SOAP services, with explicit timeouts.

Errors::

    PsrmError
    ├── PsrmUnavailable          transport error, timeout, 5xx, 503 "NyMF is down"  → retry later
    │   └── PsrmCircuitOpen      the breaker refused the call without trying         → retry later
    ├── PsrmDuplicateDelivery    the delivery id was used before (PersistenceException): never
    │                            resend blindly; fetch the delivery's receipts instead
    ├── PsrmRequestRejected      any other SOAP fault or 4xx                          → do not retry
    │   └── PsrmUnknownDelivery  receipts asked for a delivery PSRM does not know
    └── PsrmBadResponse          a 2xx answer that is not the expected XML

Resending after `PsrmUnavailable` is safe for all three services: a delivery that did arrive
answers `PsrmDuplicateDelivery` the second time. `call_with_retry` retries exactly the
retryable class, with exponential backoff and jitter, and an injectable sleep.

Messages are signed later (WS-Security); `sign` is the seam: it gets each envelope's bytes and
returns what is sent. Exception texts never carry message content beyond PSRM's fault text,
which is cut short and has CPR-shaped numbers masked.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import httpx
import tenacity

from adapters.base import AdapterError
from adapters.psrm import xml
from adapters.psrm.breaker import CircuitBreaker
from adapters.psrm.messages import Notification, Receipt, SubmitAck
from app.domain.identifiers import redact_cpr_like

T = TypeVar("T")


class PsrmError(Exception):
    """A call to PSRM did not give the expected answer."""

    retryable = False

    def __init__(
        self, message: str, *, status_code: int | None = None, fault_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.fault_code = fault_code


class PsrmUnavailable(PsrmError):
    """PSRM could not be reached or is down (transport, timeout, 5xx, service window)."""

    retryable = True


class PsrmCircuitOpen(PsrmUnavailable):
    """The circuit breaker is open: the call was not tried."""


class PsrmDuplicateDelivery(PsrmError):
    """The delivery id was used before; fetch its receipts rather than resend."""


class PsrmRequestRejected(PsrmError):
    """PSRM refused the request (SOAP fault or 4xx); sending it again will not help."""


class PsrmUnknownDelivery(PsrmRequestRejected):
    """PSRM does not know the delivery whose receipts were asked for."""


class PsrmBadResponse(PsrmError):
    """PSRM answered 2xx with something that is not the expected message."""


@dataclass(frozen=True, slots=True)
class PsrmClientConfig:
    """Where PSRM is, who we are, and how long to wait."""

    base_url: str
    sender_se: str
    submit_path: str = "/FordringIndberetService"
    receipt_path: str = "/KvitteringHentService"
    notification_path: str = "/UnderretSamlingHentService"
    connect_timeout: float = 5.0
    submit_read_timeout: float = 60.0
    receipt_read_timeout: float = 900.0  # building a receipt can take PSRM many minutes
    notification_read_timeout: float = 300.0
    write_timeout: float = 60.0
    pool_timeout: float = 10.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def _identity(envelope: bytes) -> bytes:
    return envelope


def _fault_text(text: str) -> str:
    return redact_cpr_like(text)[:300]


def classify(response: httpx.Response) -> PsrmError | None:
    """Return the error a PSRM answer means, or None for a 2xx answer."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if status == 503:
        return PsrmUnavailable("PSRM is unavailable (service window)", status_code=status)
    fault = xml.parse_fault(response.content)
    if fault is not None:
        said = f"{fault.message} {fault.detail or ''}"
        text = _fault_text(fault.message)
        if "PersistenceException" in said:
            return PsrmDuplicateDelivery(
                f"the delivery id was used before: {text}",
                status_code=status,
                fault_code=fault.code,
            )
        if "NyMF is down" in said:
            return PsrmUnavailable(
                f"PSRM is down: {text}", status_code=status, fault_code=fault.code
            )
        if "MFLeveranceID" in said and "ukendt" in said:
            return PsrmUnknownDelivery(
                f"PSRM does not know the delivery: {text}",
                status_code=status,
                fault_code=fault.code,
            )
        return PsrmRequestRejected(
            f"PSRM refused the request: {text}", status_code=status, fault_code=fault.code
        )
    if status >= 500:
        return PsrmUnavailable(f"PSRM answered HTTP {status}", status_code=status)
    return PsrmRequestRejected(f"PSRM answered HTTP {status}", status_code=status)


class PsrmClient:
    """PSRM's three services over one HTTP connection pool; thread-safe like httpx.Client."""

    def __init__(
        self,
        config: PsrmClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sign: Callable[[bytes], bytes] = _identity,
        clock: Callable[[], dt.datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.config = config
        self.breaker = breaker
        self._sign = sign
        self._clock = clock
        self._new_id = new_id
        self._http = httpx.Client(
            base_url=config.base_url,
            transport=transport,
            timeout=self._timeout(config.submit_read_timeout),
            headers={"Content-Type": xml_media_type()},
        )

    def _timeout(self, read: float) -> httpx.Timeout:
        config = self.config
        return httpx.Timeout(
            connect=config.connect_timeout,
            read=read,
            write=config.write_timeout,
            pool=config.pool_timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PsrmClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _post(self, path: str, envelope: bytes, *, action: str, read_timeout: float) -> bytes:
        breaker = self.breaker
        if breaker is not None and not breaker.allow():
            raise PsrmCircuitOpen("the circuit breaker is open; PSRM was not called")
        try:
            response = self._http.post(
                path,
                content=self._sign(envelope),
                headers={"SOAPAction": f'"{action}"'},
                timeout=self._timeout(read_timeout),
            )
            error = classify(response)
        except httpx.TimeoutException as exc:
            error = PsrmUnavailable(f"PSRM did not answer in time ({type(exc).__name__})")
            error.__cause__ = exc
        except httpx.TransportError as exc:
            error = PsrmUnavailable(f"PSRM could not be reached ({type(exc).__name__})")
            error.__cause__ = exc
        except BaseException:
            if breaker is not None:
                breaker.release()
            raise
        if breaker is not None:
            if isinstance(error, PsrmUnavailable):
                breaker.record_failure()
            else:
                breaker.record_success()
        if error is not None:
            raise error
        return response.content

    def submit(self, delivery: bytes) -> SubmitAck:
        """Send a delivery built by `xml.build_delivery`; return PSRM's acknowledgement.

        Raises:
            PsrmUnavailable: PSRM could not be reached, timed out, or is down (retry later).
            PsrmDuplicateDelivery: the delivery id was used before (fetch its receipts).
            PsrmRequestRejected: PSRM refused the delivery.
            PsrmBadResponse: the answer is not an MFFordringIndberet_O.
        """
        raw = self._post(
            self.config.submit_path,
            delivery,
            action="MFFordringIndberet",
            read_timeout=self.config.submit_read_timeout,
        )
        return _read(xml.parse_submit_response, raw)

    def fetch_receipts(self, *, delivery_id: str, max_items: int, offset: int = 0) -> list[Receipt]:
        """Fetch up to `max_items` receipts of a delivery from position `offset` (none yet: []).

        Raises:
            PsrmUnavailable: PSRM could not be reached, timed out, or is down (retry later).
            PsrmUnknownDelivery: PSRM does not know the delivery (it never arrived).
            PsrmRequestRejected: PSRM refused the request.
            PsrmBadResponse: the answer is not an MFKvitteringHent_O.
        """
        request = xml.build_receipt_request(
            transaction_id=self._new_id(),
            sender_se=self.config.sender_se,
            sent_at=self._clock(),
            delivery_id=delivery_id,
            max_items=max_items,
            offset=offset,
        )
        raw = self._post(
            self.config.receipt_path,
            request,
            action="MFKvitteringHent",
            read_timeout=self.config.receipt_read_timeout,
        )
        return _read(xml.parse_receipt_response, raw)

    def fetch_notifications(self, *, from_number: int, to_number: int) -> list[Notification]:
        """Fetch the notifications numbered `from_number` to `to_number` (gaps are possible).

        Raises:
            PsrmUnavailable: PSRM could not be reached, timed out, or is down (retry later).
            PsrmRequestRejected: PSRM refused the request (a bad range, say).
            PsrmBadResponse: the answer is not an MFUnderretSamlingHent_O.
        """
        request = xml.build_notification_request(
            transaction_id=self._new_id(),
            sender_se=self.config.sender_se,
            sent_at=self._clock(),
            from_number=from_number,
            to_number=to_number,
        )
        raw = self._post(
            self.config.notification_path,
            request,
            action="MFUnderretSamlingHent",
            read_timeout=self.config.notification_read_timeout,
        )
        return _read(xml.parse_notification_response, raw)


def xml_media_type() -> str:
    """The content type of SOAP 1.1 messages."""
    return "text/xml; charset=utf-8"


def _read(parse: Callable[[bytes], T], raw: bytes) -> T:
    try:
        return parse(raw)
    except AdapterError as exc:
        raise PsrmBadResponse(f"PSRM's answer could not be read: {exc.message}") from exc


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry: exponential backoff with jitter, capped."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 1.0


def _retryable(error: BaseException) -> bool:
    return isinstance(error, PsrmUnavailable) and not isinstance(error, PsrmCircuitOpen)


def call_with_retry(
    call: Callable[[], T],
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `call`, retrying `PsrmUnavailable` (not an open breaker) with backoff and jitter.

    Raises:
        PsrmError: the last error once the attempts are used up, or at once when the error is
            not retryable (a rejection, a duplicate delivery, an open breaker).
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_retryable),
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        ),
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
