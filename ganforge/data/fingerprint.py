"""What a run's data folder held when the run started, to notice when it changed since.

A fingerprint is the number of files under the folder and a hash of their relative names and
sizes: cheap to take on thousands of images (no file is read), and it changes when a file is
added, removed, renamed or rewritten at another size.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path


def fingerprint(folder: Path) -> dict:
    """{"path": absolute path, "files": count, "digest": sha256 of names and sizes}."""
    digest, count = hashlib.sha256(), 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\n".encode())
            count += 1
    return {"path": str(folder), "files": count, "digest": digest.hexdigest()}


def warn_if_changed(saved_file: Path, folder: Path) -> None:
    """One line on stderr when `folder` no longer matches the fingerprint in `saved_file`."""
    if not saved_file.is_file():
        return
    try:
        saved = json.loads(saved_file.read_text())
        before = (saved["files"], saved["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        print(f"ganforge: warning: {saved_file} is unreadable; cannot tell whether {folder} "
              "changed since the run started", file=sys.stderr)
        return
    now = fingerprint(folder) if folder.is_dir() else {"files": 0, "digest": ""}
    if (now["files"], now["digest"]) != before:
        print(f"ganforge: warning: the data in {folder} changed since the run started "
              f"({before[0]} files then, {now['files']} now); results may not compare",
              file=sys.stderr)
