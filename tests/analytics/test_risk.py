"""Hidden risks on the demo city: the planted hot spots are found, the figures add up, big windows stay small."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shapely.geometry import Point, shape

from gridops.geo.hexes import cell_polygon

from gridops.analytics.risk import HEAT_MAX_POINTS, RiskQuery, risk

SINCE, UNTIL = datetime(2026, 9, 20, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC)
TZ = "Asia/Shanghai"


@pytest.fixture
def session(demo_app):
    with demo_app.extensions["gridops.db"].session() as s:
        yield s


def test_the_e_bike_charging_in_the_old_lanes_is_a_growing_hot_spot(session):
    out = risk(session, RiskQuery("hazard.ebike_charging", None, SINCE, UNTIL), TZ)
    hot = [c for c in out["cells"] if c["gi_bin"] > 0]
    assert len(hot) >= 3 and out["cold_spots"] == 0
    top = max(out["cells"], key=lambda c: c["gi_z"])
    assert top["gi_bin"] == 3 and top["gi_label"] == "hot spot, 99% confidence"
    assert top["trend"] in ("consecutive", "intensifying", "new")  # it grew over the period
    assert sum(top["weekly"][-3:]) > sum(top["weekly"][:3])
    centres = [cell_polygon(int(c["cell"], 16)).centroid for c in hot]
    spread = max(a.distance(b) for a in centres for b in centres)
    assert spread < 0.01  # about 1 km: one place, the old lanes


def test_counts_add_up_by_cell_by_week_and_by_grid(session):
    out = risk(session, RiskQuery(None, None, SINCE, UNTIL), TZ)
    assert out["total"] == sum(c["count"] for c in out["cells"]) == sum(sum(c["weekly"]) for c in out["cells"])
    assert len(out["weeks"]) == 8 and all(len(c["weekly"]) == 8 for c in out["cells"])
    assert sum(g["count"] for g in out["grids"]) >= out["total"]  # grids count the part-week before the first slice too
    for c in out["cells"]:
        if c["households"]:
            assert c["rate_per_1000_households"] == pytest.approx(1000 * c["count"] / c["households"], abs=0.01)
    for g in out["grids"]:
        assert g["households"] > 0 and g["rate_per_1000_households"] == pytest.approx(1000 * g["count"] / g["households"], abs=0.01)


def test_an_area_a_group_and_a_resolution_narrow_it(session):
    whole = risk(session, RiskQuery("hazard", None, SINCE, UNTIL, res=9), TZ)
    community = risk(session, RiskQuery("hazard", "510199001001", SINCE, UNTIL, res=9), TZ)
    assert set(whole["query"]["categories"]) >= {"hazard.ebike_charging", "hazard.fire_lane"}
    assert 0 < community["total"] < whole["total"]
    assert all(g["code"].startswith("510199001001") for g in community["grids"])
    outline = shape(community["study_area"])
    assert all(outline.buffer(0.003).contains(cell_polygon(int(c["cell"], 16)).centroid) for c in community["cells"] if c["count"])
    assert len(whole["cells"]) < len(risk(session, RiskQuery("hazard", None, SINCE, UNTIL, res=10), TZ)["cells"])


def test_the_heat_layer_never_ships_more_than_its_cap(session, monkeypatch):
    import gridops.analytics.risk as r

    out = risk(session, RiskQuery(None, None, SINCE, UNTIL, recent_days=60), TZ)
    in_window = sum(g["count"] for g in out["grids"])  # the heat window here is the whole query window
    assert not out["heat"]["aggregated"] and len(out["heat"]["points"]) == in_window
    monkeypatch.setattr(r, "HEAT_MAX_POINTS", 100)
    capped = risk(session, RiskQuery(None, None, SINCE, UNTIL, recent_days=60), TZ)
    assert capped["heat"]["aggregated"] and sum(p[2] for p in capped["heat"]["points"]) == in_window
    assert len(capped["heat"]["points"]) < len(out["heat"]["points"])
    assert HEAT_MAX_POINTS == 5000


@pytest.mark.parametrize(("field", "query"), [
    ("res", RiskQuery(None, None, SINCE, UNTIL, res=12)),
    ("until", RiskQuery(None, None, UNTIL, SINCE)),
    ("category", RiskQuery("no.such", None, SINCE, UNTIL)),
    ("area", RiskQuery(None, "999", SINCE, UNTIL)),
])
def test_bad_queries_name_their_field(session, field, query):
    from gridops.core.errors import GridopsError

    with pytest.raises(GridopsError) as err:
        risk(session, query, TZ)
    assert err.value.details["field"] == field


def test_cells_are_hexagons_around_the_points(session):
    out = risk(session, RiskQuery("order.noise", None, SINCE, UNTIL), TZ)
    busiest = max(out["cells"], key=lambda c: c["count"])
    hexagon = cell_polygon(int(busiest["cell"], 16))
    assert len(hexagon.exterior.coords) == 7 and hexagon.area > 0
    assert not hexagon.contains(Point(0, 0))


def test_settled_days_come_from_memory_until_their_history_changes(city):
    """A second look at the same window asks the database only for the last days; merging an old
    incident, or loading old ones, moves the history stamp and the counts follow."""
    from sqlalchemy import event, select

    from gridops.core.models import Incident

    db = city.app.extensions["gridops.db"]
    q = RiskQuery(None, None, SINCE, UNTIL)
    counted = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, params, context, many):
        if "GROUP BY incident.h3_cell, incident.reported_day" in " ".join(statement.split()):
            counted.append(params)

    with city.session() as s:
        first = risk(s, q, TZ)
    with city.session() as s:
        again = risk(s, q, TZ)
    assert again["cells"] == first["cells"] and again["grids"] == first["grids"]
    assert len(counted) == 1  # the window is settled (the clock is a week after it): counted once
    with city.session() as s:
        old = s.scalar(select(Incident).where(Incident.status == "closed", Incident.reported_at >= datetime(2026, 10, 1, tzinfo=UTC))
                       .limit(1))
        old_cell = format(old.h3_cell, "x")
        old.status = "merged"  # staff merged it into another, long after
    with city.session() as s:
        after = risk(s, q, TZ)
    assert len(counted) == 2 and after["total"] == first["total"] - 1
    before_cell = next(c for c in first["cells"] if c["cell"] == old_cell)
    assert next(c for c in after["cells"] if c["cell"] == old_cell)["count"] == before_cell["count"] - 1
