"""Secrets generated on first use and kept in a file only our user can read.

For a single machine with no secret set in the environment. Several replicas
must share the value, so they set it in the environment instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    if not path.exists():
        # Written in full to a private temporary file, then linked into place: a
        # process starting at the same moment sees either no file or the whole
        # secret, and exactly one secret wins.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(nbytes))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    os.chmod(path, 0o600)  # an older install may have left it readable
    return path.read_text(encoding="ascii").strip().encode()
