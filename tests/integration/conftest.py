"""Fixtures the intake writer's tests share: the catalogue and a writer on the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.db.session import Database
from app.domain import catalogue as catalogue_module
from app.domain.catalogue import Catalogue
from app.services.intake_writer import IntakeWriter
from app.settings import ROOT

CLAIMANT = "1234"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")


@pytest.fixture
def writer(database: Database, catalogue: Catalogue) -> Iterator[IntakeWriter]:
    intake_writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
    yield intake_writer
    intake_writer.close()
