"""The Latent map page in Streamlit's AppTest: what it sends the linked maps (methods, digits,
colours, overlays, the files the browser fetches), the neighbours view against brute force, the
selection and its hand-off to Interpolation, and its settings in the URL."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer import data, mapfiles, maps, neighbours
from explorer.ui import cache, latent_map
from tests import pages_helpers

PAGE = "pages/3_Latent_map.py"


def map_payload(at: AppTest) -> dict:
    """What the page sent the linked-maps component (static/components/latent_map.js)."""

    def find(node):
        proto = getattr(node, "proto", None)
        if getattr(proto, "component_name", "") == "latent_explorer.latent_map":
            return json.loads(json.loads(proto.json)["json"])
        for child in getattr(node, "children", {}).values():
            found = find(child)
            if found is not None:
                return found
        return None

    payload = find(at._tree)
    assert payload is not None, "no latent map on the page"
    return payload


def _run(params: dict | None = None, **state) -> AppTest:
    return pages_helpers._run(PAGE, params, timeout=600, **state)


def _file(url: str):
    """The browser file behind a URL the page sent (in static/maps/)."""
    assert url.startswith(mapfiles.STATIC_URL + "/"), url
    path = mapfiles.STATIC_DIR / url.rsplit("/", 1)[1]
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_bytes()


def _image_captions(at: AppTest) -> list[str]:
    found = []

    def walk(node):
        if type(node).__name__ == "Image":
            found.extend(node.captions)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def _held_out():
    ckpt = cache.load("vae")
    return maps.points(data.Split.from_dict(ckpt.meta["split"]), "held_out")


def test_the_page_sends_both_maps_with_their_trustworthiness_and_files():
    at = _run()
    payload = map_payload(at)
    pts = _held_out()
    assert [m["name"] for m in payload["maps"]] == ["ae", "vae"] and payload["method"] == "tsne"
    for entry in payload["maps"]:
        assert f"t-SNE · trustworthiness {entry['trust']:.3f}" in entry["title"]
        assert 0.5 < entry["trust"] <= 1.0
        coords = _file(entry["coords"])
        assert len(coords["x"]) == len(coords["y"]) == len(pts)
    points = _file(payload["points"])
    assert points["labels"] == pts.labels.tolist() and points["parts"] == [["held-out", len(pts)]]
    assert _file(payload["sprite"]["url"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert payload["sprite"]["cols"] == mapfiles.sprite_columns(len(pts))
    overlap = _file(payload["overlap"])["values"]
    assert len(overlap) == len(pts) and all(0 <= v <= 1 for v in overlap)
    assert (
        payload["picked"] == 0 and payload["selected"] == [] and payload["colour"]["by"] == "digit"
    )
    summary = next(c.value for c in at.caption if "Neighbourhood overlap" in c.value)
    assert f"{np.mean(overlap):.2f} [" in summary and "by chance" in summary


def test_neighbours_of_the_picked_digit_match_brute_force():
    pts = _held_out()
    at = _run(map_pick=42)
    texts = _image_captions(at)
    found = []
    for name in ("ae", "vae"):
        z = latent_map.codes(name, cache.load(name).sha256, "held_out")
        d = np.linalg.norm(z - z[42], axis=1)
        d[42] = np.inf
        brute = np.lexsort((np.arange(len(d)), d))[: neighbours.K]
        found.append(set(brute.tolist()))
        digits = " ".join(str(pts.labels[i]) for i in brute)
        caption = next(t for t in texts if t.startswith(cache.label(name) + ": its 10 nearest"))
        assert caption.endswith(f"(digits {digits})"), (caption, digits)
    shared = len(found[0] & found[1])
    assert any(c.value.startswith(f"{shared} of 10 neighbours shared") for c in at.caption)
    assert f"#42: digit {pts.labels[42]}, held-out #42" in texts
    assert map_payload(at)["picked"] == 42


def test_a_selection_shows_the_digits_and_sends_two_held_out_ones_to_interpolation():
    at = _run(map_selected=[3, 7, 400], map_source="vae", map_seq=2)
    payload = map_payload(at)
    assert payload["selected"] == [3, 7, 400] and payload["seq"] == 2
    assert any(s.value == "3 selected on the VAE (d=16) map" for s in at.subheader)
    texts = _image_captions(at)
    assert "selected originals: #3, #7, #400" in texts
    assert {"AE (d=16) reconstructions", "VAE (d=16) reconstructions"} <= set(texts)
    at.button(key="map_send").click().run()
    assert (
        at.session_state["map_pair"][0] == 3 and at.session_state["ip_origin"] == "the Latent map"
    )


def test_colour_by_an_attribute_sends_its_measures():
    at = _run()
    at.selectbox(key="map_colour").set_value("thickness").run()
    payload = map_payload(at)
    assert payload["colour"] == {"by": "thickness", "label": "thickness", "unit": "px"}
    thickness = _file(payload["points"])["attributes"]["thickness"]
    assert (
        len(thickness) == len(_held_out()) and 1.0 < np.nanmedian(np.array(thickness, float)) < 5.0
    )
    at.selectbox(key="map_colour").set_value("overlap").run()
    assert map_payload(at)["colour"]["by"] == "overlap" and at.query_params["colour"] == "overlap"


def test_a_link_opens_all_digits_and_the_url_follows():
    # PCA: every digit's map in milliseconds (t-SNE and UMAP of them take minutes the first time;
    # tests/test_browser_map.py switches to UMAP on the held-out digits).
    at = _run({"method": "pca", "points": "all", "colour": "overlap", "pick": "4321"})
    assert at.radio(key="map_method").value == "pca" and at.radio(key="map_points").value == "all"
    payload = map_payload(at)
    n = len(_file(payload["points"])["labels"])
    assert n > 1000 and payload["picked"] == 4321 and "PCA" in payload["maps"][0]["title"]
    assert len(_file(payload["maps"][1]["coords"])["x"]) == n
    assert len(_file(payload["overlap"])["values"]) == n
    assert _file(payload["points"])["parts"][0] == ["held-out", 500]
    at.radio(key="map_points").set_value("held_out").run()
    assert map_payload(at)["picked"] == 499  # clamped into the 500 held-out digits
    assert "points" not in at.query_params and at.query_params["method"] == "pca"


@pytest.mark.parametrize("bad", [{"method": "isomap"}, {"points": "some"}, {"pick": "-3"}])
def test_a_bad_parameter_falls_back_with_a_notice(bad):
    at = _run(bad)
    assert len(at.warning) == 1 and "ignored" in at.warning[0].value
    assert map_payload(at)["method"] == "tsne"
