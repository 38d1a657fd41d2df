"""Uploads of a digit: the uploader, and bounded upload storage for a shared server.

Streamlit keeps every file PUT to ``/_stcore/upload_file/<session>/<id>`` in memory until the
session ends, with no bound: one tab can send hundreds of 5 MB files outside any uploader and the
server holds them all. :class:`BoundedUploads` keeps only each session's newest file (the one
its uploader shows; the app's pages use one uploader at a time) and at most ``MAX_TOTAL_BYTES``
across all sessions, dropping the oldest files first. Streamlit builds its upload manager before
any app code runs and hands the same object to its upload route, so :func:`install` turns that
object into a BoundedUploads in place, once per server, from ``setup.page_setup``.
:func:`upload_digit` is the uploader the pages use: a digit the models can read, or one clear
message.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import streamlit as st
import torch
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from explorer import images, urlstate
from explorer.ui import display

MAX_FILES_PER_SESSION = 1
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # about a dozen sessions' worth of 5 MB files at once


class BoundedUploads(MemoryUploadedFileManager):
    """MemoryUploadedFileManager that bounds what it holds per session and in total."""

    _order: OrderedDict[tuple[str, str], int]  # (session, file id) -> bytes, oldest first
    max_files_per_session: int = MAX_FILES_PER_SESSION
    max_total_bytes: int = MAX_TOTAL_BYTES

    def __init__(self, upload_endpoint: str) -> None:
        super().__init__(upload_endpoint)
        self._order = OrderedDict()

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

    def remove_file(self, session_id: str, file_id: str) -> None:
        with self._lock:
            self._drop(session_id, file_id)

    def remove_session_files(self, session_id: str) -> None:
        with self._lock:
            for key in [key for key in self._order if key[0] == session_id]:
                self._drop(*key)
            self.file_storage.pop(session_id, None)

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


def install() -> BoundedUploads | None:
    """Bound the running server's upload storage (idempotent; None outside a server)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    manager = Runtime.instance().uploaded_file_mgr
    if isinstance(manager, BoundedUploads):
        return manager
    if type(manager) is not MemoryUploadedFileManager:
        return None  # someone else's storage: leave it alone
    with manager._lock:
        manager._order = OrderedDict(
            ((session, file_id), len(record.data))
            for session, files in manager.file_storage.items()
            for file_id, record in files.items()
        )
        manager.__class__ = BoundedUploads
    with manager._lock:  # apply the bounds to what was there before
        for session in list(manager.file_storage):
            keys = [key for key in manager._order if key[0] == session]
            for key in keys[: max(0, len(keys) - manager.max_files_per_session)]:
                manager._drop(*key)
    return manager


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
    if upload is None:
        return None
    data = upload.getvalue()
    result = decode_upload(hashlib.sha256(data).hexdigest(), data)
    if isinstance(result, str):
        display.error(f"Cannot use {urlstate.shorten(upload.name)}: {result}")
        return None
    gray, digit = result
    c1, c2, _ = st.columns([1, 1, 4])
    c1.image(gray, caption="your upload", width=120)
    with c2:
        display.show_digit(torch.from_numpy(digit), "what the model sees", scale=4)
    return torch.from_numpy(digit.copy())
