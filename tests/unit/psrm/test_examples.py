"""The example messages in contracts/psrm/xml/ are what the builders write, and they parse."""

from __future__ import annotations

import pytest

from adapters.psrm import xml
from adapters.psrm.messages import CreateClaim, Settlement
from tests.unit.psrm.examples import FOLDER, build_examples, pretty

EXAMPLES = build_examples()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_file_matches_the_builder(name: str) -> None:
    assert (FOLDER / name).read_bytes() == pretty(EXAMPLES[name]), (
        "regenerate with: python -m tests.unit.psrm.examples"
    )


def test_the_examples_read_back() -> None:
    read = {name: (FOLDER / name).read_bytes() for name in EXAMPLES}
    delivery = xml.parse_delivery(read["delivery.xml"])
    main, related = delivery.actions[:2]
    assert isinstance(main, CreateClaim)
    assert isinstance(related, CreateClaim)
    assert related.main_action_id == main.action_id
    assert xml.parse_delivery(EXAMPLES["delivery.xml"]) == delivery
    assert len(xml.parse_submit_response(read["submit-response.xml"]).actions) == 4
    assert xml.parse_receipt_request(read["receipt-request.xml"]).max_items == 100
    assert [r.status.value for r in xml.parse_receipt_response(read["receipt-response.xml"])] == [
        "UDFØRT",
        "HØRING",
        "AFVIST",
        "AFVIST",
    ]
    assert xml.parse_notification_request(read["notification-request.xml"]).to_number == 140
    notices = xml.parse_notification_response(read["notification-response.xml"])
    assert [n.number for n in notices] == [41, 42, 43, 44, 45]
    assert isinstance(notices[2], Settlement)
    fault = xml.parse_fault(read["fault-duplicate-delivery.xml"])
    assert fault is not None
    assert "PersistenceException" in fault.message
