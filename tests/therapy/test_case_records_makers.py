"""`therapy.case_records` builds its hot engine records without their dataclass `__init__`
(`_maker`): each must be exactly the record `cls(*values)` makes, and still frozen."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from therapy.case_records import (
    _DXA_SCAN,
    _FRACTURE,
    _LAB_RESULT,
    _SITE_READING,
    _THERAPY_COURSE,
    _maker,
)
from therapy.engine import case as c

DAY = dt.date(2025, 3, 4)
READING = c.SiteReading(0.812, -2.6, None)

MADE = [
    pytest.param(_LAB_RESULT, c.LabResult, (DAY, c.LabTest.CTX, 0.31, "ng/mL"), id="lab"),
    pytest.param(_LAB_RESULT, c.LabResult, (DAY, c.LabTest.P1NP, 0, None), id="lab-no-unit"),
    pytest.param(_SITE_READING, c.SiteReading, (0.812, -2.6, 1.9), id="site-reading"),
    pytest.param(
        _DXA_SCAN,
        c.DxaScan,
        (DAY, ((c.DxaSite.LUMBAR_SPINE, READING),), "Hologic A"),
        id="dxa-scan",
    ),
    pytest.param(_FRACTURE, c.Fracture, (DAY, c.FractureSite.HIP, False), id="fracture"),
    pytest.param(
        _THERAPY_COURSE,
        c.TherapyCourse,
        (c.Drug.DENOSUMAB, DAY, None, c.StopReason.FAILURE, (DAY,)),
        id="course",
    ),
]


@pytest.mark.parametrize(("make", "cls", "values"), MADE)
def test_a_made_record_is_the_one_its_class_makes_and_stays_frozen(make, cls, values):
    made, built = make(*values), cls(*values)
    assert type(made) is cls
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert dataclasses.astuple(made) == dataclasses.astuple(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, None)


@pytest.mark.parametrize(("make", "cls", "values"), MADE)
def test_a_made_record_needs_every_field(make, cls, values):
    with pytest.raises(TypeError):
        make(*values[:-1])


def test_a_record_with_a_post_init_or_without_slots_is_refused():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        value: int

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError):
            _maker(cls)
