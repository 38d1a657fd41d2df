"""Uploads of a digit: the uploader, and bounded upload storage for a shared server.

Streamlit keeps every file PUT to ``/_stcore/upload_file/<session>/<id>`` in memory until the
session ends, with no bound: one tab can send hundreds of 5 MB files outside any uploader and the
server holds them all. :class:`BoundedUploads` keeps only each session's newest file (the one
its uploader shows; the app's pages use one uploader at a time) and at most ``MAX_TOTAL_BYTES``
across all sessions, dropping the oldest files first. Streamlit builds its upload manager before
any app code runs and hands the same object to its upload route, so :func:`install` turns that
object into a BoundedUploads in place, once per server, from ``setup.page_setup``.
:func:`upload_digit` is the uploader the pages use: a digit the models can read, or one clear
message. Its result is kept in the session as the small 28x28 digit, so a file the store let go
of to make room for other students' uploads (it says so) does not take the student's digit with
it; a file the student removed does. Files of sessions that have closed are let go of at once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import numpy as np
import streamlit as st
import torch
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from explorer import images
from explorer.ui import display

MAX_FILES_PER_SESSION = 1
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # about a dozen sessions' worth of 5 MB files at once


class BoundedUploads(MemoryUploadedFileManager):
    """MemoryUploadedFileManager that bounds what it holds per session and in total."""

    _order: OrderedDict[tuple[str, str], int]  # (session, file id) -> bytes, oldest first
    _evicted: dict[str, set[str]]  # session -> its files let go of for others' uploads
    max_files_per_session: int = MAX_FILES_PER_SESSION
    max_total_bytes: int = MAX_TOTAL_BYTES

    def __init__(self, upload_endpoint: str) -> None:
        super().__init__(upload_endpoint)
        self._order = OrderedDict()
        self._evicted = {}

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        with self._lock:
            self._drop(session_id, file.file_id)  # a re-upload under the same id replaces it
            self.file_storage[session_id][file.file_id] = file
            self._order[(session_id, file.file_id)] = len(file.data)
            self._total_bytes += len(file.data)
            self._file_count += 1
            mine = [key for key in self._order if key[0] == session_id]
            for key in mine[: max(0, len(mine) - self.max_files_per_session)]:
                self._drop(*key)
            for key in list(self._order):
                if self._total_bytes <= self.max_total_bytes:
                    break
                if key != (session_id, file.file_id):
                    self._drop(*key)
                    if key[0] != session_id:
                        self._evicted.setdefault(key[0], set()).add(key[1])

    def remove_file(self, session_id: str, file_id: str) -> None:
        with self._lock:
            self._drop(session_id, file_id)

    def remove_session_files(self, session_id: str) -> None:
        with self._lock:
            for key in [key for key in self._order if key[0] == session_id]:
                self._drop(*key)
            self.file_storage.pop(session_id, None)
            self._evicted.pop(session_id, None)

    def evicted(self, session_id: str, file_ids: set[str] | None = None) -> bool:
        """Whether a file of this session (one of ``file_ids``, if given) was let go of to
        make room for other sessions' uploads."""
        with self._lock:
            gone = self._evicted.get(session_id, set())
            return bool(gone if file_ids is None else gone & file_ids)

    def prune(self, is_active) -> int:
        """Let go of the files of every session ``is_active(session)`` says has closed; how
        many sessions."""
        with self._lock:
            closed = [s for s in {*self.file_storage, *self._evicted} if not is_active(s)]
        for session in closed:
            self.remove_session_files(session)
        return len(closed)

    def held(self) -> tuple[int, int]:
        """(files, bytes) held now."""
        with self._lock:
            return self._file_count, self._total_bytes

    def _drop(self, session_id: str, file_id: str) -> None:
        """Forget one file; the caller holds the lock."""
        storage = self.file_storage.get(session_id)
        record = storage.pop(file_id, None) if storage is not None else None
        self._order.pop((session_id, file_id), None)
        if record is not None:
            self._total_bytes -= len(record.data)
            self._file_count -= 1
        if storage is not None and not storage:
            del self.file_storage[session_id]


PRUNE_EVERY_S = 15.0  # closed sessions' files go within this long


def install() -> BoundedUploads | None:
    """Bound the running server's upload storage (idempotent; None outside a server), and let
    go of closed sessions' files every PRUNE_EVERY_S seconds."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    manager = Runtime.instance().uploaded_file_mgr
    if isinstance(manager, BoundedUploads):
        _pruner(manager)
        return manager
    if type(manager) is not MemoryUploadedFileManager:
        return None  # someone else's storage: leave it alone
    with manager._lock:
        manager._order = OrderedDict(
            ((session, file_id), len(record.data))
            for session, files in manager.file_storage.items()
            for file_id, record in files.items()
        )
        manager._evicted = {}
        manager.__class__ = BoundedUploads
    with manager._lock:  # apply the bounds to what was there before
        for session in list(manager.file_storage):
            keys = [key for key in manager._order if key[0] == session]
            for key in keys[: max(0, len(keys) - manager.max_files_per_session)]:
                manager._drop(*key)
    _pruner(manager)
    return manager


@st.cache_resource(show_spinner=False)
def _pruner(_manager: BoundedUploads):
    """One per server: a Streamlit session whose tab closed keeps its files until the next
    session connects; this lets go of them within PRUNE_EVERY_S seconds."""
    import threading

    from streamlit.runtime import Runtime

    def run() -> None:
        while True:
            time.sleep(PRUNE_EVERY_S)
            if Runtime.exists():
                _manager.prune(Runtime.instance().is_active_session)

    thread = threading.Thread(target=run, name="upload-pruner", daemon=True)
    thread.start()
    return thread


@st.cache_data(show_spinner=False, max_entries=64)
def decode_upload(digest: str, _data: bytes) -> tuple[np.ndarray, np.ndarray] | str:
    """(reduced grayscale upload, digit (1, 28, 28)) or the reason it is unusable, once per
    file content (``digest``, its SHA-256): reruns and other sessions reuse it, failures too."""
    try:
        gray, digit = images.read_upload(_data)
    except images.UploadError as err:
        return str(err)
    return gray, digit.numpy()


def upload_digit(key: str) -> torch.Tensor | None:
    """A file uploader that returns a 28x28 digit, or None after one clear message; shows the
    upload beside the cleaned-up digit the models see."""
    install()  # cheap and idempotent
    upload = st.file_uploader(
        f"PNG or JPEG of a digit (at most {images.MAX_UPLOAD_BYTES // images.MB} MB)",
        type=["png", "jpg", "jpeg", "mpo"],
        key=key,
    )
    kept_key = f"{key}_kept"
    if upload is None:
        return _kept(kept_key)
    data = upload.getvalue()
    result = decode_upload(hashlib.sha256(data).hexdigest(), data)
    if isinstance(result, str):
        st.session_state.pop(kept_key, None)
        display.error(f"This file cannot be used ({result}):", upload.name)
        return None
    gray, digit = result
    st.session_state[kept_key] = (upload.name, upload.file_id, gray, digit)
    _show(gray, digit)
    return torch.from_numpy(digit.copy())


def _kept(kept_key: str) -> torch.Tensor | None:
    """The session's last digit when the store let go of its file for other students'
    uploads (saying so); None, and forgotten, when the student removed it."""
    kept = st.session_state.get(kept_key)
    manager = install()
    session = _session_id()
    if kept is None or manager is None or session is None:
        return None
    name, file_id, gray, digit = kept
    if not manager.evicted(session, {file_id}):
        st.session_state.pop(kept_key, None)
        return None
    st.info(
        display.plain("The server let go of the file")
        + f" {display.literal(name)} "
        + display.plain(
            "to make room for other students' uploads; your digit is kept here. Upload it again "
            "to see the file listed."
        ),
        icon=":material/inventory_2:",
    )
    _show(gray, digit)
    return torch.from_numpy(digit.copy())


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def _show(gray: np.ndarray, digit: np.ndarray) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    c1.image(gray, caption="your upload", width=120)
    with c2:
        display.show_digit(torch.from_numpy(digit), "what the model sees", scale=4)
