"""Portraits that need no network: small generated SVG avatars, served by the dashboard.

The offline roll's candidates point at these; a candidate whose photo is on the internet
(randomuser.me) falls back to one of them on the page when the photo cannot be loaded.
"""

from __future__ import annotations

AVATAR_PATH = "app/static/avatars/"  # Streamlit's static serving, relative to the page
AVATARS = 8  # one pair (two hair styles) per party on the ballot

_BACKGROUNDS = (
    "#dbe9f6",
    "#f9dede",
    "#dff2e1",
    "#fde9d4",
    "#e8e1f3",
    "#ece3dc",
    "#f8e1ef",
    "#d9f1f3",
)
_SKINS = ("#f1c7a4", "#d9a27c", "#b57a55", "#8d5a3b", "#e8b894", "#c68d67", "#a86e4a", "#f3d2b8")
_HAIRS = ("#3b2a20", "#6b4a2f", "#1f1f1f", "#a0522d", "#555555", "#2e1d14", "#c9a66b", "#4a3426")
_SHIRTS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_SHORT_HAIR = "M40 50c0-17 10-28 24-28s24 11 24 28c-5-9-13-13-24-13s-19 4-24 13z"
_LONG_HAIR = "M36 84V50c0-18 12-30 28-30s28 12 28 30v34l-10-6V50c-4-7-10-11-18-11s-14 4-18 11v28z"


def avatar_name(index: int, long_hair: bool) -> str:
    """The file name of avatar `index` (taken modulo AVATARS)."""
    return f"candidate-{index % AVATARS + 1}{'b' if long_hair else 'a'}.svg"


def avatar_url(index: int, long_hair: bool = False) -> str:
    """Where the page finds avatar `index`, relative to the page."""
    return AVATAR_PATH + avatar_name(index, long_hair)


def avatar_svg(index: int, long_hair: bool) -> str:
    """Avatar `index` as an SVG document: head and shoulders on a coloured disc."""
    i = index % AVATARS
    hair = _LONG_HAIR if long_hair else _SHORT_HAIR
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128" width="128" height="128">'
        f'<rect width="128" height="128" rx="16" fill="{_BACKGROUNDS[i]}"/>'
        f'<path d="M18 128c2-27 21-41 46-41s44 14 46 41z" fill="{_SHIRTS[i]}"/>'
        f'<rect x="56" y="70" width="16" height="20" rx="6" fill="{_SKINS[i]}"/>'
        f'<ellipse cx="64" cy="54" rx="22" ry="26" fill="{_SKINS[(i + 3) % AVATARS]}"/>'
        f'<path d="{hair}" fill="{_HAIRS[i]}"/>'
        "</svg>\n"
    )


def all_avatars() -> dict[str, str]:
    """Every avatar by file name, as shipped in the dashboard's static folder."""
    return {
        avatar_name(i, long_hair): avatar_svg(i, long_hair)
        for i in range(AVATARS)
        for long_hair in (False, True)
    }
