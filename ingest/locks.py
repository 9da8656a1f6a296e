"""Advisory locks on a file, held for a ``with`` block: exclusive (other processes wait) or shared.

``flock`` locks belong to an open file, not to a process: a second ``open`` + ``flock`` of the
same path in the same process waits for the first one, forever. So a lock records which
paths this thread already holds, and taking one again inside its own block is a no-op; asking
for an exclusive lock inside a shared one of the same path (which would wait for itself) is an
error that names the path. Processes that die release their locks with their files.
"""
from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path

_held = threading.local()  # .modes: lock path -> "shared" | "exclusive" held by this thread


class LockOrderError(RuntimeError):
    """An exclusive lock asked for inside a shared lock of the same path by the same thread."""


def _modes() -> dict[Path, str]:
    if not hasattr(_held, "modes"):
        _held.modes = {}
    return _held.modes


def held(lock_path: Path) -> str | None:
    """"shared", "exclusive", or None: what this thread holds on ``lock_path``."""
    return _modes().get(lock_path.absolute())


@contextlib.contextmanager
def lock(lock_path: Path, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """``with lock(path) as acquired:``. ``wait=False``: do not wait, ``acquired`` is False if
    another process holds a conflicting lock (the block then runs without it)."""
    key = lock_path.absolute()
    mode = "shared" if shared else "exclusive"
    modes = _modes()
    current = modes.get(key)
    if current == "exclusive" or current == mode:
        yield True  # already held by this thread: a nested block
        return
    if current == "shared":
        raise LockOrderError(f"{lock_path}: an exclusive lock was asked for while this thread holds it shared "
                             f"(it would wait for itself); take the exclusive lock first, or leave the shared block")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            yield False
            return
        modes[key] = mode
        try:
            yield True
        finally:
            del modes[key]
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive lock, waiting for it."""
    with lock(lock_path):
        yield
