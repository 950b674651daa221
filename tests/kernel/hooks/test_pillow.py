"""Pillow: ``Image.open`` of a user's file by the user's code is a read the image carries; ``Image.save`` a write
with the image's provenance; a library's own calls, and an image a library ships, are left alone."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import numpy as np
import xxhash
from hooktools import only_output, shipped_image
from PIL import Image

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pillow import PillowInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PillowInstrumentor,)


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def test_an_image_opened_by_path_is_read_and_saved_with_its_provenance(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(path)
    capture.take_record()
    image = Image.open(path)
    assert list(capture.record.inputs) == [source(path)]
    assert capture.of(image).sources == {source(path)}
    with open(path, "rb") as handle:  # an open file: named by its path
        assert capture.of(Image.open(handle)).sources == {source(path)}
    image.save(tmp_path / "copy.png")
    output = only_output(capture)
    assert output.source == source(tmp_path / "copy.png")
    assert output.provenance.sources == {source(path)}


def test_a_librarys_calls_and_the_images_a_library_ships_are_left_alone(capture: Capture, tmp_path: Path) -> None:
    shipped = shipped_image()
    Image.open(shipped).load()
    assert not capture.record.inputs
    path = tmp_path / "dog.png"
    Image.fromarray(np.zeros((2, 2), dtype=np.uint8)).save(path)
    capture.take_record()
    library = os.path.join(sysconfig.get_paths()["purelib"], "nbl_fake_decoder.py")
    exec(compile("from PIL import Image\nImage.open(path).load()\n", library, "exec"), {"path": str(path)})
    assert not capture.record.inputs
