"""Images read with matplotlib's and imageio's ``imread`` (which open the file through Pillow from their own code)
are reads by the user's code the array returned carries; bytes, a library's calls and images a library ships are
left alone."""

from __future__ import annotations

import io
import os
import sysconfig
from pathlib import Path

import imageio
import imageio.v2
import imageio.v3
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xxhash
from hooktools import shipped_image
from notebooks import model_source_names, run_notebook
from PIL import Image

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.images import ImageioInstrumentor, MatplotlibImagesInstrumentor
from nblineage.kernel_ext.hooks.pillow import PillowInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PillowInstrumentor, MatplotlibImagesInstrumentor, ImageioInstrumentor)
READERS = {  # looked up when called: the hooks patch the modules' attributes
    "plt.imread": plt,
    "matplotlib.image.imread": matplotlib.image,
    "imageio.imread": imageio,
    "imageio.v2.imread": imageio.v2,
    "imageio.v3.imread": imageio.v3,
}


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def image(path: Path) -> Path:
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(path)
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio.imread's notice of its v3 behaviour
@pytest.mark.parametrize("reader", READERS)
def test_an_image_read_by_path_or_file_is_a_read_its_array_carries(
    reader: str, capture: Capture, tmp_path: Path
) -> None:
    path = image(tmp_path / "cat.png")
    read = READERS[reader].imread
    capture.take_record()
    for target in (str(path), path):
        array = read(target)
        assert capture.of(array).sources == {source(path)}
        assert capture.of(array).precision == "exact"
    with open(path, "rb") as handle:
        assert capture.of(read(handle)).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]


def test_bytes_and_buffers_record_nothing_a_path_does(capture: Capture, tmp_path: Path) -> None:
    path = image(tmp_path / "dog.png")
    capture.take_record()
    imageio.v3.imread(path.read_bytes())
    imageio.v2.imread(path.read_bytes())
    plt.imread(io.BytesIO(path.read_bytes()))
    assert not capture.record.inputs
    imageio.v3.imread(path)
    assert list(capture.record.inputs) == [source(path)]


def test_only_the_users_calls_on_the_users_images_are_reads(capture: Capture, tmp_path: Path) -> None:
    shipped = shipped_image()
    plt.imread(shipped)
    imageio.v3.imread(shipped)
    assert not capture.record.inputs
    path = image(tmp_path / "owl.png")
    capture.take_record()
    library = os.path.join(sysconfig.get_paths()["purelib"], "nbl_fake_loader.py")
    code = "import imageio.v3, matplotlib.pyplot as plt\nplt.imread(path)\nimageio.v3.imread(path)\n"
    exec(compile(code, library, "exec"), {"path": str(path)})
    assert not capture.record.inputs
    plt.imread(path)  # the user's own call
    assert list(capture.record.inputs) == [source(path)]


IMAGE_FEATURES = [
    "import numpy as np, imageio, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt",
    "a = np.array([plt.imread('img0.png').ravel()])\nnp.save('via_plt.npy', a)",
    "b = np.array([imageio.imread('img1.png').ravel()])\nnp.save('via_imageio.npy', b)",
    "import imageio.v3 as iio\nc = np.stack([iio.imread(f'img{i}.png') for i in (2, 3)])\nnp.save('via_v3.npy', c)",
]


def test_features_of_images_read_in_a_notebook_derive_from_them(tmp_path: Path, store_url: str) -> None:
    for index in range(4):
        image(tmp_path / f"img{index}.png")
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "images.ipynb", IMAGE_FEATURES, env)
    assert model_source_names(store_url, tmp_path / "via_plt.npy") == {"img0.png"}
    assert model_source_names(store_url, tmp_path / "via_imageio.npy") == {"img1.png"}
    assert model_source_names(store_url, tmp_path / "via_v3.npy") == {"img2.png", "img3.png"}
