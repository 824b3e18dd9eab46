"""A county map page in headless Chromium draws every county from the app's own outlines, offline."""

from __future__ import annotations

from pathlib import Path

from .browser import ROOT, Network, browser_page, dashboard_server, screenshot

PAGE = Path(__file__).with_name("county_map_page.py")
COUNTIES, OHIO_COUNTIES = 3141, 88


def test_the_county_maps_draw_with_every_outside_request_blocked(chromium, tmp_path):
    # Streamlit serves the static/ folder beside the script it runs: the app's own, linked.
    (tmp_path / "static").symlink_to(ROOT / "streamlit_app" / "static")
    page_script = tmp_path / PAGE.name
    page_script.write_text(PAGE.read_text())

    network = Network()
    with dashboard_server({}, app=page_script) as url, browser_page(network=network) as page:
        page.goto(url)
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .choroplethlayer path').length >= n",
            arg=COUNTIES + OHIO_COUNTIES,
            timeout=30_000,
        )
        page.wait_for_timeout(500)
        screenshot(page, "browser-test-county-maps.png")
        heights = page.eval_on_selector_all(
            ".js-plotly-plot .choroplethlayer",
            "layers => layers.map(layer => [...layer.querySelectorAll('path')]"
            "  .filter(path => String(path.__data__.loc).startsWith('39'))"
            "  .map(path => path.getBoundingClientRect())"
            "  .reduce((box, r) => [Math.min(box[0], r.top), Math.max(box[1], r.bottom)], [1e9, 0]))",
        )

        assert page.locator('[data-testid="stException"]').count() == 0
        assert network.served("/app/static/geo/us-counties.json")[0][1] == 200
        assert {status for _, status in network.served("/app/static/")} == {200}
        assert network.blocked == []
        # Ohio is small on the nation's map, and fills the one zoomed to it
        (nation_top, nation_bottom), (ohio_top, ohio_bottom) = heights
        assert ohio_bottom - ohio_top > 4 * (nation_bottom - nation_top)
