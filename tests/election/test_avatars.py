"""The generated avatars: valid SVG, one per party and hair style, shipped as the dashboard serves them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from election import avatars, candidates

STATIC = Path(__file__).resolve().parents[2] / "streamlit_app" / "static" / "avatars"


def test_every_avatar_is_a_standalone_svg_and_they_differ():
    shipped = avatars.all_avatars()
    assert len(shipped) == 2 * avatars.AVATARS
    for svg in shipped.values():
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "href" not in svg  # nothing to fetch from anywhere
    assert len(set(shipped.values())) == len(shipped)


def test_the_shipped_files_are_the_generated_avatars():
    """Regenerate them with `python -m streamlit_app.portraits`."""
    on_disk = {path.name: path.read_text() for path in STATIC.glob("*.svg")}
    assert on_disk == avatars.all_avatars()


def test_every_offline_candidate_has_a_shipped_avatar():
    for candidate in candidates.generate_candidates(len(candidates.PARTIES), seed=3):
        name = candidate["photo_url"].removeprefix(avatars.AVATAR_PATH)
        assert (STATIC / name).is_file()


def test_avatar_indices_wrap_around():
    assert avatars.avatar_url(avatars.AVATARS) == avatars.avatar_url(0)
    assert avatars.avatar_url(1, long_hair=True).endswith("candidate-2b.svg")
