"""The process's own counters and histograms (registered once, in the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INTAKE_CLAIMS = Counter(
    "kravbro_intake_claims", "Claims taken at intake, by source and result", ["source", "result"]
)
TRANSFER_LATENCY = Histogram(
    "kravbro_transfer_latency_seconds",
    "From a transfer's queueing to PSRM's final receipt",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
RETRIES = Counter("kravbro_transfer_retries", "Deliveries that failed and will be retried")
DEAD_LETTERS = Counter("kravbro_transfer_dead_letters", "Deliveries that became dead letters")
