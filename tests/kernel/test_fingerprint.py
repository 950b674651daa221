"""File fingerprints read into one kept buffer: many reads allocate nothing that grows, and threads reading at the
same time get the right fingerprints."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import xxhash

from nblineage.kernel_ext import fingerprint


def _files(folder: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = folder / f"part-{index}.csv"
        path.write_text(f"id,value\n{index},{index * 2}\n")
        paths.append(path)
    return paths


def test_reads_reuse_one_buffer(tmp_path: Path) -> None:
    paths = _files(tmp_path, 200)
    fingerprint.file_version(paths[0])  # the shared buffer is made once
    tracemalloc.start()
    try:
        for path in paths[1:]:
            assert fingerprint.file_version(path) == xxhash.xxh3_128(path.read_bytes()).hexdigest()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < fingerprint.CHUNK // 8, f"a read allocated a new buffer (peak {peak} bytes)"
    assert current < 256 << 10, f"{current} bytes kept after 200 reads"


def test_threads_reading_at_once_get_the_right_fingerprints(tmp_path: Path) -> None:
    paths = [tmp_path / f"big-{index}.bin" for index in range(4)]
    for index, path in enumerate(paths):
        path.write_bytes(bytes([index]) * (fingerprint.CHUNK + 12345))
    expected = {path: xxhash.xxh3_128(path.read_bytes()).hexdigest() for path in paths}
    found: dict[Path, str | None] = {}

    def read(path: Path) -> None:
        for _ in range(3):
            fingerprint.forget(path)
            found[path] = fingerprint.file_version(path)

    threads = [threading.Thread(target=read, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == expected


def test_the_kept_buffer_is_small_and_files_larger_than_it_hash_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (5 * 4096 + 7)  # ~5 MiB: several reads of the buffer
    path.write_bytes(data)
    assert fingerprint.file_version(path) == xxhash.xxh3_128(data).hexdigest()
    assert fingerprint._buffers and len(fingerprint._buffers[0]) <= 1 << 20  # resident for the kernel's life
