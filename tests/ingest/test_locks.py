"""The one file lock (ingest/locks.py): shared or exclusive, re-entrant in a thread, never waiting for itself."""
import threading

import pytest

from ingest.locks import LockOrderError, held, lock


def test_a_lock_taken_again_in_its_own_block_does_not_wait_for_itself(tmp_path):
    path = tmp_path / ".lock"
    with lock(path) as outer, lock(path) as inner, lock(path, shared=True) as read:
        assert outer and inner and read and held(path) == "exclusive"
    assert held(path) is None


def test_an_exclusive_lock_inside_a_shared_one_is_refused_with_the_path(tmp_path):
    path = tmp_path / ".lock"
    with lock(path, shared=True), pytest.raises(LockOrderError, match=str(path)):
        with lock(path):
            pass


def test_readers_share_and_a_writer_that_does_not_wait_is_told_it_is_busy(tmp_path):
    path = tmp_path / ".lock"
    seen = {}

    def other_thread():  # its own open file, as another process would have
        with lock(path, shared=True, wait=False) as shared:
            seen["shared"] = shared
        with lock(path, wait=False) as exclusive:
            seen["exclusive"] = exclusive

    with lock(path, shared=True):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
    assert seen == {"shared": True, "exclusive": False}
