"""The simulation's scenario generator is pure: the same seed gives the same scenario, shaped like the source."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.scenario import COMMITMENT_SHARE, generate
from catalog.load import default_catalog


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), projects=st.integers(min_value=1, max_value=12))
def test_same_seed_same_scenario(seed: int, projects: int) -> None:
    first = generate(seed, "tunliu", projects, 2027)
    assert generate(seed, "tunliu", projects, 2027) == first
    assert len(first.projects) == projects
    assert len({p.project_id for p in first.projects}) == projects
    for p in first.projects:
        assert p.registered_on.year == 2027 and p.registered_on.weekday() < 5
        assert set(p.matters) == {m.code for m in default_catalog().matters}
    assert [p.registered_on for p in first.projects] == sorted(p.registered_on for p in first.projects)


def test_seeds_differ() -> None:
    assert generate(1).projects != generate(2).projects


def test_shaped_like_the_source() -> None:
    """About 100 projects of about 1 bn yuan each (Yanhu: 101 for 98.7 bn); three in four of the
    matters that may be handled on commitment are (Tunliu: 75%); some breaches and withdrawals."""
    s = generate(7)
    assert len(s.projects) == 100
    total = sum(int(str(p.registration["investment_yuan"])) for p in s.projects)
    assert 30e9 < total < 300e9
    catalog = {m.code: m for m in default_catalog().matters}
    eligible = [m for p in s.projects for code, m in p.matters.items() if "commitment" in catalog[code].modes]
    share = sum(m.handling == "commitment" for m in eligible) / len(eligible)
    assert abs(share - COMMITMENT_SHARE) < 0.08
    assert s.planned_breaches > 0
    assert any(p.withdraw_in for p in s.projects)
    assert any(m.correction for p in s.projects for m in p.matters.values())
    assert any(m.grade in ("bad", "very_bad") for p in s.projects for m in p.matters.values())
    for p in s.projects:
        for code, m in p.matters.items():
            # Tolerance only where the catalog allows it and a secondary material can be owed.
            if m.handling == "tolerance":
                assert "tolerance" in catalog[code].modes and catalog[code].secondary_materials


def test_forced_breach_and_bad_input() -> None:
    s = generate(3, projects=3, force_breach=True)
    first = next(p for p in s.projects if p.index == 0)
    assert first.withdraw_in is None
    assert all(m.late_days > 0 for code, m in first.matters.items() if code == "eia")
    with pytest.raises(ValueError, match="zone"):
        generate(1, "tunlu")
    with pytest.raises(ValueError, match="projects"):
        generate(1, projects=0)
    assert generate(1, projects=2, registration_window=(0, 10)).projects[-1].registered_on <= date(2027, 1, 11)
