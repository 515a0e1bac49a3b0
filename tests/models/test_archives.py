"""Data set archives: extracted once into a cache folder of their own, never read half-made,
and another copy of a data set is never taken for the one extracted before it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from models.evaluation.archives import REPO_ROOT, DataSetNotFound, extracted
from models.evaluation.datasets_mouse import BALABIT_ARCHIVE, resolve_dataset
from tests.app.test_settings import run_bbauth

SESSION = "training_files/user7/session_1"


def write_archive(path: Path, files: dict[str, bytes], mtime_ns: int) -> Path:
    """A .tar.xz at ``path`` holding ``files``, modified at ``mtime_ns``."""
    with tarfile.open(path, "w:xz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def session_text(root: Path) -> str:
    return (root / SESSION).read_text()


def test_an_archive_is_extracted_once_and_read_from_the_cache(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / BALABIT_ARCHIVE, {SESSION: b"first"}, 10**18)
    cache = tmp_path / "cache"

    root = resolve_dataset(tmp_path, BALABIT_ARCHIVE, "training_files", cache)
    (root / "seen").write_text("kept")
    again = resolve_dataset(archive, BALABIT_ARCHIVE, "training_files", cache)

    assert again == root
    assert (again / "seen").read_text() == "kept"  # not extracted a second time
    assert session_text(again) == "first"


def test_another_copy_of_a_data_set_is_read_as_itself_not_as_the_cached_one(
    tmp_path: Path,
) -> None:
    archive = tmp_path / BALABIT_ARCHIVE
    cache = tmp_path / "cache"
    write_archive(archive, {SESSION: b"release 1"}, 10**18)
    first = resolve_dataset(archive, BALABIT_ARCHIVE, "training_files", cache)
    # A newer release downloaded over it, or the same data set elsewhere.
    write_archive(archive, {SESSION: b"release 2"}, 2 * 10**18)
    other = write_archive(tmp_path / "copy.tar.xz", {SESSION: b"a copy"}, 10**18)

    assert session_text(first) == "release 1"
    assert session_text(resolve_dataset(archive, BALABIT_ARCHIVE, "training_files", cache)) == (
        "release 2"
    )
    assert session_text(resolve_dataset(other, BALABIT_ARCHIVE, "training_files", cache)) == (
        "a copy"
    )


def test_an_archive_that_is_not_one_is_said_and_leaves_nothing_behind(tmp_path: Path) -> None:
    junk = tmp_path / BALABIT_ARCHIVE
    junk.write_bytes(b"not an archive")
    cache = tmp_path / "cache"

    with pytest.raises(DataSetNotFound, match="is not a readable tar archive"):
        resolve_dataset(junk, BALABIT_ARCHIVE, "training_files", cache)
    assert list(cache.iterdir()) == []


def test_an_archive_without_its_data_set_is_said(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "other.tar.xz", {"README": b"hello"}, 10**18)

    with pytest.raises(DataSetNotFound, match="holds no training_files"):
        extracted(archive, "training_files", tmp_path / "cache")


def test_processes_extracting_one_archive_at_once_each_read_it_whole(tmp_path: Path) -> None:
    files = {f"training_files/user{u}/session_{s}": bytes(2000) for u in range(8) for s in range(8)}
    archive = write_archive(tmp_path / BALABIT_ARCHIVE, files, 10**18)
    cache = tmp_path / "cache"

    with ThreadPoolExecutor(max_workers=6) as pool:
        roots = list(pool.map(lambda _: extracted(archive, "training_files", cache), range(6)))

    assert len(set(roots)) == 1
    read = sorted(p.relative_to(roots[0]).as_posix() for p in roots[0].rglob("session_*"))
    assert read == sorted(files)
    assert [p.name for p in cache.iterdir()] == [roots[0].name]  # no half-made folder left


def test_eval_on_an_archive_that_is_not_one_stops_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / BALABIT_ARCHIVE
    junk.write_bytes(b"not an archive")

    result = run_bbauth(
        "eval", "balabit", "--quick", "--no-progress", "--data", str(junk),
        "--out", str(tmp_path / "out"), env={}, tmp_path=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr == (
        f"bbauth eval balabit: {junk} is not a readable tar archive (give --data PATH)\n"
    )
    assert not (tmp_path / "out" / "balabit.json").exists()


def test_eval_into_a_folder_it_cannot_write_stops_before_it_runs(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "results"

    result = run_bbauth(
        "eval", "balabit", "--quick", "--no-progress", "--data", str(tmp_path),
        "--out", str(out), env={}, tmp_path=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr == f"bbauth eval balabit: cannot write to {out}: Not a directory\n"


@pytest.mark.parametrize("command", ["build", "build-liveness", "evaluate"])
def test_rebuilding_the_backgrounds_without_the_data_sets_is_said_in_one_line(
    tmp_path: Path, command: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "models.background", command, "--data", str(tmp_path / "absent"),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr == (
        f"python -m models.background {command}: data set not found: {tmp_path / 'absent'}\n"
    )
