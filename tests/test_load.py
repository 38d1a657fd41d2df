"""A small classroom load in CI: 4 real browser sessions for 15 s against one server.

The full benchmark (`python -m bench.load`, 20 sessions x 60 s) reports latencies and memory;
here only what must hold: every session keeps working and no page shows an exception.
"""

import pytest

from bench.browser import require_chromium

pytestmark = pytest.mark.browser
require_chromium()


def test_four_sessions_for_fifteen_seconds_without_exceptions():
    from bench import load

    report = load.run(sessions=4, seconds=15)
    assert report["session_errors"] == []
    assert report["exceptions"] == 0
    assert report["rounds"] >= 4  # every session finished at least one full round
    assert len(report["rss_mb_over_time"]) >= 10  # memory was sampled through the run
