"""scripts/county_outlines.py decodes TopoJSON as the specification says."""

from __future__ import annotations

import pytest

from scripts import county_outlines

# The example topology of the TopoJSON specification, section 2.1 (github.com/topojson/
# topojson-specification), with its polygon, and a second one made of both arcs to test joins.
TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.0005000500050005, 0.00010001000100010001], "translate": [100, 0]},
    "arcs": [
        [[4000, 0], [1999, 9999], [2000, -9999], [2000, 9999]],
        [[0, 0], [0, 9999], [2000, 0], [0, -9999], [-2000, 0]],
    ],
}


def test_a_reversed_arc_gives_the_specifications_polygon():
    arcs = county_outlines.decode_arcs(TOPOLOGY)
    polygon = county_outlines.geometry({"type": "Polygon", "arcs": [[-2]]}, arcs)

    # the specification's GeoJSON, to its quantization (its scale makes 2000 steps 1.0001°)
    assert polygon["type"] == "Polygon"
    (ring,) = polygon["coordinates"]
    expected = [[100, 0], [101, 0], [101, 1], [100, 1], [100, 0]]
    assert [pytest.approx(p, abs=1e-3) for p in expected] == ring


def test_arcs_are_joined_without_repeating_the_shared_position_and_the_ring_is_closed():
    arcs = [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]

    assert county_outlines.ring([0, 1], arcs) == [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    assert county_outlines.ring([0], arcs) == [[0, 0], [1, 0], [1, 1], [0, 0]]


def test_rings_without_area_are_dropped_and_a_county_of_nothing_but_them_is_empty():
    line = [[[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]]  # Falls Church in us-atlas 3.0.1
    square = [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 6.0], [5.0, 5.0]]]
    arcs = line + square

    assert county_outlines.geometry({"type": "Polygon", "arcs": [[0, 1]]}, arcs) == {
        "type": "MultiPolygon",
        "coordinates": [],
    }
    assert county_outlines.geometry({"type": "MultiPolygon", "arcs": [[[0, 1]], [[2]]]}, arcs) == {
        "type": "Polygon",
        "coordinates": [square[0]],
    }
    assert county_outlines.polygon([[2], [0, 1]], arcs) == [square[0]]


def test_the_aleutians_past_the_antimeridian_join_alaska_west_of_it():
    arcs = [[[179.7761, 51.9], [-179.1, 52.0]]]

    assert county_outlines.west_of_greenwich(arcs) == [[[-180.2239, 51.9], [-179.1, 52.0]]]
