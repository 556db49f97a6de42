"""Map widgets for the point register: the offline Altair map, and a pydeck map over an intranet tile server."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pydeck as pdk
import streamlit as st

from civeval import lookup, mapping
from civeval.models import Point


def offline_map(points: Sequence[Point], types: Sequence[str]) -> None:
    """The points that have coordinates, drawn locally (nothing fetched from outside), with a legend."""
    placed = lookup.located(points)
    missing = len(points) - len(placed)
    if not placed:
        st.info("筛选出的点位都没有经纬度，无法在地图上显示。可在「新增和修改」中补填纬度、经度。")
        return
    st.caption(
        f"地图上 {len(placed)} 个点位"
        + (f"，另有 {missing} 个没有经纬度" if missing else "")
        + "。本地绘制，无需联网；用上方筛选缩小范围，地图会自动缩放到这些点位。点按圆点查看点位信息。"
    )
    with st.container(key="points_map"):
        st.altair_chart(mapping.points_chart(placed, types))
    counts = mapping.type_counts(placed, types)
    st.html(mapping.legend_html(counts, mapping.type_colours(types)))
    if len(counts) > len(mapping.PALETTE):
        st.caption("点位类型较多，颜色会重复；可用上方「点位类型」筛选只看几类。")


TILE_TOOLTIP_FIELDS = ("name", "point_type", "street", "custodian_unit")


def tile_map(points: Sequence[Point], types: Sequence[str], tile_url: str) -> None:
    """The same points over the intranet tile server named by CIVEVAL_TILE_URL (in an expander, drawn when open)."""
    placed = lookup.located(points)
    if not placed:
        return
    with st.expander("内网底图", key="points_tile_map", on_change="rerun") as box:
        if not box.open:
            return
        colours = mapping.type_colours(types)
        frame = mapping.map_frame(placed)
        frame["colour"] = [mapping.hex_to_rgb(colours.get(t, mapping.PALETTE[0])) for t in frame["point_type"]]
        for column in TILE_TOOLTIP_FIELDS:  # deck.gl puts the tooltip's fields into HTML: names are text
            frame[column] = frame[column].map(lambda v: html.escape(str(v)))
        layer = pdk.Layer(
            "ScatterplotLayer",
            frame,
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius=30,
            radius_min_pixels=6,
            pickable=True,
        )
        st.pydeck_chart(
            pdk.Deck(
                layers=[layer],
                initial_view_state=pdk.data_utils.compute_view(frame[["lon", "lat"]].values.tolist()),
                map_provider="maplibre",
                map_style=mapping.tile_style(tile_url),
                tooltip={"html": "<b>{name}</b><br/>{point_type}<br/>{street}<br/>{custodian_unit}"},
            ),
            key="points_deck",
        )
