"""What a run's data files held when the run started, to notice when they changed since.

`RUN/data.json` lists every file and folder the run's data set reads (`DataSet.files`):

    a file     its size and the sha256 of its bytes (oracles, text corpora, point files);
    a folder   the number of files under it and a sha256 of their relative names and sizes: cheap
               on thousands of images (no file is read), and it changes when a file is added,
               removed, renamed or rewritten at another size.

`ganforge sample` and `ganforge eval` warn when an input changed; `ganforge train --resume`
refuses unless `--force` (train.loop.remember_data).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

#: bytes read at a time while hashing a file
CHUNK = 1 << 20


def fingerprint_path(path: Path) -> dict:
    """{"path", "files", "digest"} of one file (files = 1, digest over its bytes) or one folder
    (files under it, digest over their names and sizes); a missing path has 0 files."""
    digest, count = hashlib.sha256(), 0
    if path.is_file():
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        count = 1
    elif path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                file = Path(root) / name
                digest.update(f"{file.relative_to(path)}\0{file.stat().st_size}\n".encode())
                count += 1
    else:
        return {"path": str(path), "files": 0, "digest": ""}
    return {"path": str(path), "files": count, "digest": digest.hexdigest()}


def fingerprint(paths: list[Path]) -> dict:
    """The content of RUN/data.json for a data set that reads `paths`."""
    return {"inputs": [fingerprint_path(Path(p)) for p in paths]}


def read_saved(saved_file: Path) -> list[dict]:
    """The inputs a run recorded (none when it recorded nothing). A file of one folder's
    fingerprint ({"path", "files", "digest"}), as older runs wrote, reads as that one input."""
    if not saved_file.is_file():
        return []
    try:
        saved = json.loads(saved_file.read_text())
        inputs = saved["inputs"] if "inputs" in saved else [saved]
        return [{"path": str(i["path"]), "files": int(i["files"]), "digest": str(i["digest"])}
                for i in inputs]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{saved_file} is unreadable ({err}); cannot tell whether the run's "
                         "data changed since it started") from None


def changes(saved_file: Path, now: dict) -> list[str]:
    """One sentence for each recorded input whose fingerprint differs from `now`'s."""
    current = {i["path"]: i for i in now["inputs"]}
    found = []
    for before in read_saved(saved_file):
        after = current.get(before["path"]) or fingerprint_path(Path(before["path"]))
        if (after["files"], after["digest"]) == (before["files"], before["digest"]):
            continue
        if after["files"] == 0:
            found.append(f"{before['path']} is gone since the run started")
        elif Path(before["path"]).is_dir():
            found.append(f"the data in {before['path']} changed since the run started "
                         f"({before['files']} files then, {after['files']} now)")
        else:
            found.append(f"the data file {before['path']} changed since the run started "
                         f"(sha256 {before['digest'][:12]}... then, {after['digest'][:12]}... now)")
    return found
