"""Where a data set's files are: a folder given as it is, or an archive extracted once into a
cache folder of its own.

The cache folder is named after the archive and its identity (resolved path, size, modified
time), so another copy of a data set (a newer release, a corrupt download) is never read as
the one extracted before it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / "var" / "cache" / "datasets"


class DataSetNotFound(FileNotFoundError):
    """A data set is not where it was looked for, or its archive is not one (said in one
    line by the commands that read data sets)."""


def archive_identity(path: Path) -> str:
    """What tells one archive file from another without reading it (its cache folder's name
    carries a digest of it)."""
    stat = path.stat()
    return f"{path.resolve()}\n{stat.st_size}\n{stat.st_mtime_ns}\n"


def extracted(archive: Path, marker: str, cache_dir: Path | None = None) -> Path:
    """The folder ``archive`` is extracted into (once), which must hold ``marker``.

    The extraction is made in a temporary folder and renamed into place, so a process never
    reads a half-extracted data set, even while another extracts the same archive (test
    workers starting on a cold cache)."""
    digest = hashlib.sha256(archive_identity(archive).encode()).hexdigest()[:12]
    stem = archive.name.removesuffix(".tar.xz").removesuffix(".tar.gz").removesuffix(".tar")
    cache = cache_dir or DEFAULT_CACHE_DIR
    target = cache / f"{stem}-{digest}"
    # Only a whole extraction is ever renamed to ``target``: if it is there, it is complete.
    if not target.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=cache, prefix=f".{target.name}-"))
        try:
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(partial, filter="data")
            except tarfile.TarError as exc:
                raise DataSetNotFound(f"{archive} is not a readable tar archive") from exc
            try:
                os.rename(partial, target)
            except OSError:
                if not target.is_dir():  # not another process's extraction, renamed first
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    if not (target / marker).exists():
        raise DataSetNotFound(f"{archive} holds no {marker}")
    return target
