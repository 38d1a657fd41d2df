"""An idle server stays idle: Streamlit's polling of its config files stops when file watching is
off (explorer/ui/idle.py), and stays when a developer turns watching on."""

import os
import time

import pytest
from streamlit import config
from streamlit.watcher.polling_path_watcher import PollingPathWatcher

from explorer.ui import idle


@pytest.fixture
def watched(tmp_path):
    """A config file under Streamlit's polling watcher, the changes it reported, and a way to
    change the file (new content and a later mtime, so one poll sees it)."""
    path = tmp_path / "config.toml"
    path.write_text("[server]\n")
    changes: list[str] = []
    watcher = PollingPathWatcher(str(path), changes.append)

    def edit(text: str) -> None:
        path.write_text(text)
        later = time.time() + 5
        os.utime(path, (later, later))

    yield path, changes, edit
    watcher.close()


def _watching(value: str):
    before = config.get_option("server.fileWatcherType")
    config.set_option("server.fileWatcherType", value)
    return before


def _wait_for(changes: list[str], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not changes and time.monotonic() < deadline:
        time.sleep(0.05)


def test_polling_stops_when_file_watching_is_off(watched):
    _, changes, edit = watched
    before = _watching("none")
    try:
        assert idle.stop_config_polling() >= 1
    finally:
        config.set_option("server.fileWatcherType", before)
    edit("[server]\nheadless = true\n")
    time.sleep(1.0)  # five polling periods
    assert changes == []


def test_polling_stays_when_a_developer_watches_files(watched):
    path, changes, edit = watched
    before = _watching("poll")
    try:
        assert idle.stop_config_polling() == 0
    finally:
        config.set_option("server.fileWatcherType", before)
    edit("[server]\nheadless = false\n")
    _wait_for(changes)
    assert changes == [str(path)]
