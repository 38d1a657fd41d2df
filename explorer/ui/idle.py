"""Keep an idle app server idle: stop Streamlit's polling of its configuration files.

Streamlit 1.67 polls every ``config.toml`` location (and every ``secrets.toml`` once secrets are
read) each 200 ms on a thread pool so that an edited file reloads live, whatever
``server.fileWatcherType`` says (``streamlit/web/bootstrap.py``, ``runtime/secrets.py``). On this
machine those wake-ups were half of an idle server's CPU, about 5 of 10 ms per second
(``bench/browser_decode.py`` reads it), and a share of every slider release's cost. A class
server's configuration does not change while it runs: with file watching off, as
``.streamlit/config.toml`` sets it, this stops the polling too.
"""

from __future__ import annotations

import gc


def stop_config_polling() -> int:
    """Close every polling file watcher in this process when ``server.fileWatcherType`` is
    ``"none"``; the number closed (0 where watching is on: a developer's ``--server.fileWatcherType
    poll`` keeps all of them). Walks the heap once (about 50 ms with torch loaded)."""
    from streamlit import config
    from streamlit.watcher.polling_path_watcher import PollingPathWatcher

    if config.get_option("server.fileWatcherType") != "none":
        return 0
    # type(), not isinstance(): the latter reads __class__, which trips lazy deprecation shims.
    watchers = [obj for obj in gc.get_objects() if type(obj) is PollingPathWatcher]
    for watcher in watchers:
        watcher.close()  # its next poll returns without scheduling another
    return len(watchers)
