"""Upload storage stays bounded per session and in total, whatever a client sends."""

from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from explorer.ui import uploads


def _rec(file_id: str, size: int) -> UploadedFileRec:
    return UploadedFileRec(file_id, f"{file_id}.png", "image/png", b"x" * size)


def test_a_flood_from_one_session_keeps_only_its_newest_file():
    store = uploads.BoundedUploads("/up")
    for i in range(100):
        store.add_file("tab", _rec(f"f{i}", 1000))
    assert store.held() == (1, 1000)
    assert [r.file_id for r in store.get_files("tab", ["f98", "f99"])] == ["f99"]
    store.add_file("tab", _rec("f99", 10))  # the same id again replaces it
    assert store.held() == (1, 10)
    store.remove_session_files("tab")
    assert store.held() == (0, 0) and store.get_files("tab", ["f99"]) == []


def test_the_total_is_bounded_by_dropping_the_oldest_files_of_other_sessions():
    store = uploads.BoundedUploads("/up")
    store.max_total_bytes = 2500
    for session in ("a", "b", "c", "d"):
        store.add_file(session, _rec(f"{session}1", 1000))
    assert store.held() == (2, 2000)
    assert store.get_files("a", ["a1"]) == [] and store.get_files("d", ["d1"]) != []
    store.remove_file("d", "d1")
    store.remove_file("d", "absent")
    assert store.held() == (1, 1000) and store.get_stats()  # Streamlit's own stats still work


def test_install_bounds_an_existing_manager_in_place(monkeypatch):
    from streamlit.runtime import Runtime

    manager = MemoryUploadedFileManager("/up")
    for i in range(3):
        manager.add_file("old", _rec(f"o{i}", 100))

    class FakeRuntime:
        uploaded_file_mgr = manager

    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(Runtime, "instance", staticmethod(lambda: FakeRuntime))
    assert uploads.install() is manager and isinstance(manager, uploads.BoundedUploads)
    assert manager.held() == (1, 100) and manager.get_files("old", ["o2"])[0].file_id == "o2"
    assert uploads.install() is manager  # once per server


def test_files_let_go_of_for_others_are_marked_and_closed_sessions_are_pruned():
    store = uploads.BoundedUploads("/upload")
    store.max_total_bytes = 10
    store.add_file("a", UploadedFileRec("a1", "a.png", "image/png", b"12345"))
    store.add_file("b", UploadedFileRec("b1", "b.png", "image/png", b"12345"))
    store.add_file("c", UploadedFileRec("c1", "c.png", "image/png", b"12345"))  # a's goes
    assert store.evicted("a", {"a1"}) and not store.evicted("b") and not store.evicted("c")
    store.remove_file("b", "b1")  # the student removed it: not "let go of"
    assert not store.evicted("b")
    assert store.prune(lambda session: session == "c") == 1  # a has closed
    assert not store.evicted("a") and store.held() == (1, 5)
