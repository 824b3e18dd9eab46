"""Candidates' portraits on the page, with a local avatar beneath any photo from the internet.

`python -m streamlit_app.portraits` rewrites the shipped avatars in streamlit_app/static/.
"""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

from election import avatars

STATIC = Path(__file__).resolve().parent / "static"


def fallback_url(candidate_id: str, candidate_ids: list[str]) -> str:
    """The local avatar of a candidate: by its place among the candidates, so each differs."""
    ordered = sorted(set(candidate_ids) | {candidate_id})
    index = ordered.index(candidate_id)
    return avatars.avatar_url(index, long_hair=index % 2 == 1)


def portrait_html(photo_url: str | None, fallback: str, name: str, size: int) -> str:
    """A square portrait: the photo drawn over the local avatar, which shows if the photo fails.

    Two CSS backgrounds need no script: a photo that cannot load leaves its layer empty.
    """
    layers = [fallback] if not photo_url or photo_url == fallback else [photo_url, fallback]
    background = ", ".join(
        f"url({html.escape(_css_url(url))}) center / cover no-repeat" for url in layers
    )
    return (
        f'<div class="candidate-portrait" role="img" aria-label="{html.escape(f"Portrait of {name}")}" '
        f'style="width:{int(size)}px;height:{int(size)}px;border-radius:12px;'
        f'background:{background};"></div>'
    )


def _css_url(url: str) -> str:
    # quoted, with the characters that could end the quote or the declaration escaped
    return (
        '"'
        + url.replace("\\", "%5C").replace('"', "%22").replace("\n", "").replace(";", "%3B")
        + '"'
    )


def write_avatars(folder: Path = STATIC / "avatars") -> list[Path]:
    """Write every generated avatar where Streamlit's static serving finds it."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in avatars.all_avatars().items():
        path = folder / name
        path.write_text(svg)
        written.append(path)
    return written


def render_portrait(photo_url: str | None, fallback: str, name: str, size: int) -> None:
    """A candidate's photo, or the local avatar when there is none or it cannot be loaded."""
    st.markdown(portrait_html(photo_url, fallback, name, size), unsafe_allow_html=True)


if __name__ == "__main__":
    for path in write_avatars():
        print(path)
