"""Maps of the point register that work with no internet (no Streamlit here).

By default points are drawn as an Altair (Vega-Lite) chart in a Mercator projection: no tiles, no fonts,
nothing fetched from outside; filtering the points re-fits the map (that is how one "zooms" to a street).
When the environment variable CIVEVAL_TILE_URL names an intranet tile server, the page may also draw a
pydeck map over it. CIVEVAL_TILE_URL is either a raster tile template (``http://gis.local/tiles/{z}/{x}/{y}.png``)
or the URL of a MapLibre style document (``http://gis.local/styles/basic/style.json``).
"""

from __future__ import annotations

import html
import json
import math
import os
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence

import altair as alt
import pandas as pd

from civeval.lookup import located
from civeval.models import Point
from civeval.presentation import NONE, POINT_LABELS

TILE_URL_ENV = "CIVEVAL_TILE_URL"

# 20 distinguishable colours (Tableau 20); types beyond 20 reuse them in order.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

TOOLTIP_FIELDS = ("name", "code", "point_type", "street", "custodian_unit", "address")


def type_colours(types: Iterable[str]) -> dict[str, str]:
    """A colour per point type, in the order given (the register's order), the same on every map."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(dict.fromkeys(types))}


def map_frame(points: Iterable[Point]) -> pd.DataFrame:
    """One row per point that has coordinates, with the fields the map draws and its tooltip shows."""
    rows = [
        {
            "code": p.code,
            "name": p.name,
            "point_type": p.point_type,
            "street": p.street or NONE,
            "custodian_unit": p.custodian_unit or NONE,
            "address": p.address or NONE,
            "lat": p.lat,
            "lon": p.lon,
        }
        for p in located(points)
    ]
    return pd.DataFrame(
        rows, columns=["code", "name", "point_type", "street", "custodian_unit", "address", "lat", "lon"]
    )


def street_labels(frame: pd.DataFrame, *, min_gap: float = 0.08) -> pd.DataFrame:
    """One label per street/town at the middle of its points: orientation on a map without tiles.

    Labels that would crowd each other are dropped: streets with more points are labelled first, and a label
    closer than ``min_gap`` × the map's extent to one already placed is left out (filter by street to see it).
    """
    named = frame[frame["street"] != NONE]
    if named.empty:
        return pd.DataFrame(columns=["street", "lat", "lon", "n"])
    groups = named.groupby("street").agg(lat=("lat", "mean"), lon=("lon", "mean"), n=("code", "size")).reset_index()
    groups = groups.sort_values(["n", "street"], ascending=[False, True])
    shrink = math.cos(math.radians(float(named["lat"].mean())))  # a degree of longitude is shorter than one of latitude
    extent = max(named["lat"].max() - named["lat"].min(), (named["lon"].max() - named["lon"].min()) * shrink)
    gap = min_gap * extent
    kept: list[tuple[float, float]] = []
    rows = []
    for row in groups.itertuples(index=False):
        y, x = row.lat, row.lon * shrink
        if all(math.hypot(y - ky, x - kx) >= gap for ky, kx in kept):
            kept.append((y, x))
            rows.append(row)
    return pd.DataFrame(rows, columns=["street", "lat", "lon", "n"])


def points_chart(points: Sequence[Point], type_order: Sequence[str], *, height: int = 520) -> alt.LayerChart:
    """Points as circles on a Mercator projection, coloured by type, streets labelled, Chinese tooltips. Offline.

    The chart has no legend of its own (a Vega legend would shrink the fitted map); show ``legend_html`` next to it.
    """
    frame = map_frame(points)
    colours = type_colours([*type_order, *frame["point_type"]])
    shown = [t for t in colours if t in set(frame["point_type"])]
    tooltip = [alt.Tooltip(f"{f}:N", title=POINT_LABELS[f]) for f in TOOLTIP_FIELDS]
    circles = (
        alt.Chart(frame)
        .mark_circle(size=120, opacity=0.8, stroke="white", strokeWidth=1)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            color=alt.Color(
                "point_type:N", scale=alt.Scale(domain=shown, range=[colours[t] for t in shown]), legend=None
            ),
            tooltip=tooltip,
        )
    )
    labels = (
        alt.Chart(street_labels(frame))
        .mark_text(fontSize=15, fontWeight="bold", color="#333333", opacity=0.75, dy=-16)
        .encode(longitude="lon:Q", latitude="lat:Q", text="street:N")
    )
    return (
        alt.layer(circles, labels, height=height)
        .project(type="mercator")
        .configure_view(stroke="#bbbbbb", fill="#f7f7f4")
    )


def banded_chart(
    frame: pd.DataFrame,
    band: str,
    bands: Sequence[str],
    colours: Sequence[str],
    tooltip: Sequence[tuple[str, str]],
    *,
    height: int = 420,
    select: str | None = None,
) -> alt.LayerChart:
    """Points of ``frame`` (columns lat, lon, street and those named) as circles coloured by the category in
    column ``band`` (``bands`` in order, with ``colours``), streets labelled, tooltips ``(column, title)``. Offline.
    With ``select``, a click on a circle selects its ``code`` under that selection name."""
    circles = (
        alt.Chart(frame)
        .mark_circle(size=140, opacity=0.85, stroke="white", strokeWidth=1)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            color=alt.Color(f"{band}:N", scale=alt.Scale(domain=list(bands), range=list(colours)), legend=None),
            tooltip=[alt.Tooltip(f"{c}:N", title=title) for c, title in tooltip],
        )
    )
    if select:
        circles = circles.add_params(alt.selection_point(name=select, fields=["code"], on="click"))
    labels = (
        alt.Chart(street_labels(frame))
        .mark_text(fontSize=14, fontWeight="bold", color="#333333", opacity=0.7, dy=-16)
        .encode(longitude="lon:Q", latitude="lat:Q", text="street:N")
    )
    return (
        alt.layer(circles, labels, height=height)
        .project(type="mercator")
        .configure_view(stroke="#bbbbbb", fill="#f7f7f4")
    )


def legend_html(counts: Mapping[str, int], colours: Mapping[str, str]) -> str:
    """The map's legend as HTML: a coloured dot, the type and its number of points, wrapping to the width."""
    items = "".join(
        f'<span style="display:inline-block;margin:0 1.2em 0.3em 0;white-space:nowrap">'
        f'<span style="color:{colours.get(t, "#888888")};font-size:1.3em;vertical-align:-0.1em">●</span> '
        f"{html.escape(t)} {n}</span>"
        for t, n in counts.items()
    )
    return f'<div style="line-height:1.8">{items}</div>'


def type_counts(points: Iterable[Point], type_order: Sequence[str]) -> dict[str, int]:
    """Points per type, in the register's type order (types with no point left out)."""
    counts: dict[str, int] = {}
    for p in points:
        counts[p.point_type] = counts.get(p.point_type, 0) + 1
    order = {t: i for i, t in enumerate(type_order)}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def tile_url() -> str | None:
    """The intranet tile server named by CIVEVAL_TILE_URL, or None (then only the offline map is drawn)."""
    url = os.environ.get(TILE_URL_ENV, "").strip()
    return url or None


def tile_style(url: str) -> str:
    """A map style for pydeck: a style document's URL as it is; a raster tile template wrapped in a minimal
    MapLibre style (as a data: URL, so that nothing but the tiles is fetched)."""
    if "{z}" not in url:
        return url
    style = {
        "version": 8,
        "sources": {"intranet": {"type": "raster", "tiles": [url], "tileSize": 256}},
        "layers": [{"id": "intranet", "type": "raster", "source": "intranet"}],
    }
    return "data:application/json," + urllib.parse.quote(json.dumps(style, ensure_ascii=False))


def hex_to_rgb(colour: str) -> list[int]:
    c = colour.lstrip("#")
    return [int(c[i : i + 2], 16) for i in (0, 2, 4)]
