"""The shared catalogue is self-consistent and its season helpers follow docs/domain.md."""

from __future__ import annotations

from datetime import date

import pytest

from fleetcare import catalogue as cat


def test_shares_sum_to_one() -> None:
    assert sum(p.share for p in cat.PRODUCT_LINES.values()) == pytest.approx(1.0)
    assert sum(r.fleet_share for r in cat.REGIONS.values()) == pytest.approx(1.0)
    assert sum(s.share for s in cat.SEGMENTS.values()) == pytest.approx(1.0)


def test_references_resolve() -> None:
    for line in cat.PRODUCT_LINES.values():
        assert line.components and set(line.components) <= set(cat.COMPONENTS)
        assert list(line.components) == sorted(line.components, key=cat.COMPONENT_INDEX.get)
        for part in cat.wear_parts_of(line.line_id):
            assert part in cat.PARTS
    for part in cat.PARTS.values():
        assert part.component is None or part.component in cat.COMPONENTS
        assert (part.life_hours is not None) == (part.kind in ("wear", "key"))
    for interval in cat.SERVICE_INTERVALS:
        assert all(p in cat.PARTS for p, _ in interval.parts)
    for spn in cat.SPNS.values():
        assert spn.component in cat.COMPONENTS and 0 <= spn.spn < 2**19
        assert all(0 <= f <= 31 for f in spn.fmis)
    for component in cat.COMPONENTS:
        assert cat.spns_of_component(component), component
    assert len(cat.MODEL_LINE) == sum(len(p.models) for p in cat.PRODUCT_LINES.values())


def test_key_parts_follow_domain_example() -> None:
    prices = sorted((cat.PARTS[p].price_cny for p in cat.KEY_PARTS), reverse=True)
    assert prices == [100_000, 60_000, 50_000]
    assert [cat.PARTS[p].outside_supplier for p in cat.KEY_PARTS] == [True, True, False]


def test_component_of_spn() -> None:
    assert cat.component_of_spn(110) == "cooling"
    assert cat.component_of_spn(1638) == "hydraulic_pump"
    assert cat.component_of_spn(100) == "engine"
    assert cat.component_of_spn(12345) is None


def test_interval_due() -> None:
    assert cat.interval_due(250).hours == 250
    assert cat.interval_due(1500).hours == 500
    assert cat.interval_due(3000).hours == 1000
    assert cat.interval_due(4010).hours == 2000


def test_seasons() -> None:
    assert cat.in_peak("south", date(2025, 4, 15))
    assert not cat.in_peak("south", date(2025, 7, 15))
    assert cat.in_peak("south", date(2025, 11, 20))
    assert not cat.in_peak("beijing", date(2025, 11, 20))  # autumn ends earlier in the north
    assert cat.next_peak_start("south", date(2025, 6, 1)) == date(2025, 9, 1)
    assert cat.next_peak_start("south", date(2025, 12, 1)) == date(2026, 4, 1)
    assert cat.days_to_next_peak("south", date(2025, 4, 2)) == 0
    assert cat.in_winter_stop("northeast", date(2025, 1, 10))
    assert cat.in_winter_stop("northeast", date(2025, 11, 10))
    assert not cat.in_winter_stop("northeast", date(2025, 6, 10))
    assert not cat.in_winter_stop("south", date(2025, 1, 10))
    assert cat.in_spring_festival(date(2026, 2, 20))
    assert cat.in_spring_festival(date(2025, 1, 25))
    assert not cat.in_spring_festival(date(2025, 3, 15))


def test_calendar_inspections() -> None:
    assert cat.calendar_inspection_dates(date(2024, 1, 31)) == (
        date(2024, 2, 29), date(2024, 4, 30), date(2024, 7, 31), date(2025, 1, 31))
