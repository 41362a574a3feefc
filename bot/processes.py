"""Child processes and files that must not outlive or out-share the app.

Servers the app starts (the embedded Redis, local Rasa) get a parent-death
signal, so a crashed app never leaves an orphan holding a port, a socket or
a data folder. Files the app writes are private to its user: the data folder
holds conversations, profiles and password hashes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def die_with_parent() -> None:
    """In the child (a `preexec_fn`): get SIGTERM when the parent dies, even by
    SIGKILL (Linux). The signal follows the thread that forked, so start servers
    from the main thread, not a worker."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() still ends the server on a normal exit


def private_child() -> None:
    """`preexec_fn` for servers that write our data: private files, and die with us."""
    os.umask(PRIVATE_UMASK)
    die_with_parent()


def make_private(folder: Path) -> Path:
    """Create `folder` (0700) or take an existing one private: the folder and
    everything in it readable by our user only (older installs wrote 0644/0755)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for root, _dirs, files in os.walk(folder):
        os.chmod(root, 0o700)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path) and not stat.S_ISSOCK(os.lstat(path).st_mode):
                os.chmod(path, 0o600)
    return folder
