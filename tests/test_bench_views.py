"""bench.views's table (the README's first-views table): each view against Streamlit's floor
measured in the same run, figures over their goal in bold, and the floors always measured."""

from bench import views


def _found(label: str, cold: float, warm: float) -> dict:
    return {
        "label": label,
        "path": "/",
        "cold_s": cold,
        "warm_s": warm,
        "cold_cpu_s": 1.0,
        "warm_cpu_s": 0.1,
        "load": 1.5,
    }


def test_each_view_reads_against_the_floor_of_the_same_run():
    results = {
        "views": {
            "floor": _found("floor", 1.9, 1.4),
            "floor_chart": _found("floor, chart", 3.1, 2.8),
            "home": _found("Home", 4.3, 1.7),
        }
    }
    lines = views.table(results).splitlines()
    assert lines[0].startswith("| view (link) | cold, s | over the floor | warm, s |")
    assert lines[2] == "| floor (`/`) | 1.90 | | **1.40** | | 1.00 | 0.10 | 1.5 |"
    assert lines[4] == "| Home (`/`) | **4.30** | +2.40 | **1.70** | +0.30 | 1.00 | 0.10 | 1.5 |"


def test_the_floors_come_first_and_run_their_own_page():
    floors = [v for v in views.VIEWS if v.key.startswith("floor")]
    assert [v.key for v in views.VIEWS[:2]] == ["floor", "floor_chart"]
    assert all(v.script == views.FLOOR for v in floors)
    assert all(v.script == "streamlit_app.py" for v in views.VIEWS[2:])
