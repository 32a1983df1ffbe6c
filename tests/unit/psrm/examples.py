"""The example messages in `contracts/psrm/xml/`, built by `adapters.psrm.xml`.

Regenerate after a deliberate change with `python -m tests.unit.psrm.examples` and review the
diff; `test_examples.py` fails when the files and the builders drift apart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from lxml import etree

from adapters.psrm import xml
from adapters.psrm.messages import (
    ActionStatus,
    BalanceMovement,
    CoverageKind,
    CoverageLine,
    CreateClaim,
    HearingReason,
    InterestNotice,
    Recall,
    RecallReason,
    Receipt,
    ReceiptError,
    ReturnKind,
    ReturnNotice,
    Settlement,
    WriteDown,
    WriteDownReason,
    WriteOff,
)
from app.domain.claim import ClaimCategory, FordringArt
from tests.unit.psrm.builders import NOW, SENDER_SE, claim, interest_claim

FOLDER = Path(__file__).resolve().parents[3] / "contracts" / "psrm" / "xml"
DEBTORS = [
    {
        "debtor_kind": "CVR",
        "debtor_id": "12345674",
        "debtor_name": "Børnehuset Ærtebjerg ApS",
        "limitation_date": dt.date(2027, 2, 1),
    },
    {"debtor_kind": "AKR", "debtor_id": "90000000017", "limitation_date": dt.date(2027, 2, 1)},
]
LATER = NOW + dt.timedelta(minutes=7)


def _line(fordrings_id: str, amount: str, remaining: str, payment: str) -> CoverageLine:
    return CoverageLine(
        fordrings_id=fordrings_id,
        claimant_reference="DAG-2024-000123",
        fordringstype="KFDAINS",
        category=ClaimCategory.HF,
        art=FordringArt.INDR,
        effective_date=dt.date(2025, 3, 10),
        activity=CoverageKind.DAEKNING,
        amount=Decimal(amount),
        remaining_amount=Decimal(remaining),
        payment_id=payment,
    )


def build_examples() -> dict[str, bytes]:
    """Return each example file's name and content (as the builders write it)."""
    main = claim("DAG-2024-000123", liabilities=DEBTORS, notes=["Rykket to gange."])
    interest = interest_claim("DAG-2024-000123-R", "DAG-2024-000123", liabilities=DEBTORS)
    delivery = xml.build_delivery(
        delivery_id="1229-2025-03-03-0001",
        transaction_id="6f1c2a34-9a53-4b0e-8d0e-3f7f7f0d9a11",
        sender_se=SENDER_SE,
        sent_at=NOW,
        actions=[
            CreateClaim("1001", main),
            CreateClaim("1002", interest, main_action_id="1001"),
            WriteDown(
                "1003", "1000041", Decimal("250.00"), WriteDownReason.INDB, dt.date(2025, 3, 1)
            ),
            Recall("1004", "1000042", RecallReason.HENS),
        ],
    )
    statuses = [
        Receipt("1229-2025-03-03-0001", action_id, code, ActionStatus.MODTAGET, received_at=NOW)
        for action_id, code in (
            ("1001", "OPRETFORDRING"),
            ("1002", "OPRETFORDRING"),
            ("1003", "NEDSKRIV"),
            ("1004", "TILBAGEKALD"),
        )
    ]
    receipts = [
        Receipt(
            "1229-2025-03-03-0001",
            "1001",
            "OPRETFORDRING",
            ActionStatus.UDFOERT,
            fordrings_id="1000101",
            claimant_reference="DAG-2024-000123",
            claimant_id="1229",
            received_at=NOW,
            status_changed_at=LATER,
        ),
        Receipt(
            "1229-2025-03-03-0001",
            "1002",
            "OPRETFORDRING",
            ActionStatus.HOERING,
            claimant_reference="DAG-2024-000123-R",
            claimant_id="1229",
            received_at=NOW,
            status_changed_at=LATER,
            hearing=(
                HearingReason("R_6_6", "due date is more than 2 months after the period start"),
            ),
        ),
        Receipt(
            "1229-2025-03-03-0001",
            "1003",
            "NEDSKRIV",
            ActionStatus.AFVIST,
            fordrings_id="1000041",
            received_at=NOW,
            status_changed_at=LATER,
            errors=(ReceiptError(509, "FordringID er ikke kendt af Fordring"),),
        ),
        Receipt(
            "1229-2025-03-03-0001",
            "1004",
            "TILBAGEKALD",
            ActionStatus.AFVIST,
            fordrings_id="1000042",
            received_at=NOW,
            status_changed_at=LATER,
            errors=(
                ReceiptError(
                    990,
                    "Fordringen er afvist af indgangsfilteret: limitation date 2025-01-01 "
                    "is before the receipt date 2025-03-03",
                    "R_3_1",
                ),
            ),
        ),
    ]
    notices = [
        BalanceMovement(41, NOW, _line("1000101", "100.00", "900.00", "SIM-000000017")),
        InterestNotice(
            42,
            NOW,
            "1000101",
            "DAG-2024-000123",
            Decimal("4.31"),
            dt.date(2025, 3, 1),
            dt.date(2025, 3, 31),
            Decimal("5.75"),
        ),
        Settlement(
            43,
            NOW,
            "SIM-AFR-000003",
            Decimal("100.00"),
            dt.date(2025, 3, 28),
            dt.date(2025, 2, 27),
            dt.date(2025, 3, 27),
            (_line("1000101", "100.00", "900.00", "SIM-000000017"),),
        ),
        WriteOff(
            44,
            NOW,
            "1000102",
            "DAG-2024-000124",
            Decimal("375.00"),
            "KONKURS",
            dt.date(2025, 3, 20),
        ),
        ReturnNotice(
            45,
            NOW,
            "1000103",
            "DAG-2024-000125",
            ReturnKind.TILBAGESEND,
            "HENS",
            Decimal("1200.00"),
            dt.date(2025, 3, 21),
        ),
    ]
    return {
        "delivery.xml": delivery,
        "submit-response.xml": xml.build_submit_response(
            transaction_id="6f1c2a34-9a53-4b0e-8d0e-3f7f7f0d9a11",
            sender_se=SENDER_SE,
            delivery_id="1229-2025-03-03-0001",
            answered_at=NOW,
            actions=statuses,
        ),
        "receipt-request.xml": xml.build_receipt_request(
            transaction_id="0b8f2c1e-5d55-4c9e-9d43-2a0f6e9f4c21",
            sender_se=SENDER_SE,
            sent_at=LATER,
            delivery_id="1229-2025-03-03-0001",
            max_items=100,
        ),
        "receipt-response.xml": xml.build_receipt_response(
            transaction_id="0b8f2c1e-5d55-4c9e-9d43-2a0f6e9f4c21",
            answered_at=LATER,
            delivery_id="1229-2025-03-03-0001",
            receipts=receipts,
        ),
        "notification-request.xml": xml.build_notification_request(
            transaction_id="c7d1f0aa-2f7e-4f59-9a7c-6f0e2b1d8e33",
            sender_se=SENDER_SE,
            sent_at=NOW,
            from_number=41,
            to_number=140,
        ),
        "notification-response.xml": xml.build_notification_response(
            transaction_id="c7d1f0aa-2f7e-4f59-9a7c-6f0e2b1d8e33",
            answered_at=NOW,
            notifications=notices,
        ),
        "fault-duplicate-delivery.xml": xml.build_fault(
            code="Server",
            message="javax.persistence.PersistenceException: MFLeveranceID er allerede modtaget",
        ),
        "fault-service-window.xml": xml.build_fault(code="Server", message="NyMF is down"),
    }


def pretty(raw: bytes) -> bytes:
    """Indent a message for reading; the parsers ignore whitespace between elements."""
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(raw, parser=parser)
    return bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8"))


def main() -> None:
    """Write the examples to `contracts/psrm/xml/`."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, raw in build_examples().items():
        (FOLDER / name).write_bytes(pretty(raw))
        print(f"wrote {FOLDER / name}")


if __name__ == "__main__":
    main()
