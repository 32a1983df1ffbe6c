"""Fixtures: an in-process PSRM simulator with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.psrm_sim.harness import Psrm


@pytest.fixture
def make_psrm() -> Iterator[Callable[..., Psrm]]:
    made: list[Psrm] = []

    def make(**config: Any) -> Psrm:
        psrm = Psrm(**config)
        made.append(psrm)
        return psrm

    yield make
    for psrm in made:
        psrm.close()


@pytest.fixture
def psrm(make_psrm: Callable[..., Psrm]) -> Psrm:
    return make_psrm()
