from setuptools import find_packages, setup

# The site (docs/): Sphinx with the PyData theme, pages in MyST Markdown,
# notebooks executed by myst-nb in a Jupyter kernel, numpydoc docstrings
DOCS = ["sphinx>=8,<9", "pydata-sphinx-theme>=0.16,<0.17", "myst-parser>=4,<5",
    "myst-nb>=1.2,<2", "numpydoc>=1.8,<2", "ipykernel>=6.29,<8",
    "ipywidgets>=8.1,<9"]

EXTRAS = {
    # JAX on the CPU runs the GPU code path in the tests
    # (and Dask for the sweeps on a LocalCluster and dask worker processes,
    # with its dashboard (bokeh) and TLS certificates (cryptography))
    # (six: what the Theano-era scripts of tests/theano_code import)
    "test": ["pytest>=8,<10", "scipy>=1.11,<2", "jax>=0.10,<0.11",
             "dask[distributed]>=2024.1,<2027", "bokeh>=3.1,<4",
             "cryptography>=42,<47", "six>=1.16,<2"],
    # what Theano-era scripts import beside Theano (network3 run SCRIPT)
    "theano": ["six>=1.16,<2"],
    # training on an NVIDIA GPU (THEANO_FLAGS=device=gpu)
    "gpu": ["jax[cuda13]>=0.10,<0.11"],
    # sweeps on Dask: network3 experiments/sweep --workers N or --scheduler
    # ADDRESS (bokeh serves Dask's dashboard)
    "cluster": ["dask[distributed]>=2024.1,<2027", "bokeh>=3.1,<4"],
    # the peer of benchmarks/bench_cpu.py; never needed to use network3
    "bench": ["torch>=2.4,<3"],
    # watching training in TensorBoard: tensorboardX writes the event files
    # (no TensorFlow), tensorboard shows them (tensorboard --logdir DIR)
    "tensorboard": ["tensorboardX>=2.6,<3", "tensorboard>=2.16,<3"],
    # a trained net as an ONNX file (net.export_onnx, network3 export), and
    # onnxruntime to run and check it
    "onnx": ["onnx>=1.16,<2", "onnxruntime>=1.17,<2"],
    # network3 sweep --search tpe: an Optuna study (its journal file storage)
    "optuna": ["optuna>=4.0,<6"],
    # the progress bar as a widget in Jupyter
    "notebook": ["ipywidgets>=8.1,<9"],
    "docs": DOCS,
}
# the tests build the site and drive Jupyter kernels, test TensorBoard's
# files, ONNX's and Optuna's studies, and drive network3 serve's page in
# Chromium with Playwright (pointed at the system's chromium: no download)
EXTRAS["test"] += DOCS + ["jupyter_client>=8,<9", "nbclient>=0.10,<0.11",
                          "playwright>=1.40,<2"] + \
    EXTRAS["tensorboard"] + EXTRAS["onnx"] + EXTRAS["optuna"]

setup(
    name="network3",
    version="0.1.0",
    description="Michael Nielsen's network3.py (Neural Networks and Deep "
                "Learning, chapter 6) on PyTensor: the chapter's convolutional "
                "networks on a current Python",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["network3", "network3.*"]),
    # the page of network3 serve
    package_data={"network3.serve": ["page/*"]},
    python_requires=">=3.10",
    install_requires=[
    "numpy>=1.26,<3",
    "pytensor>=3.0.7,<3.1",
    "numba>=0.61,<1",
    "matplotlib>=3.7,<4",
    "tqdm>=4.60,<5",
    # the transforms of network3.augmentation (scipy.ndimage's as an option)
    "scipy>=1.11,<2",
    # BLAS threads handed to the augmentation thread while it works
    "threadpoolctl>=3.1,<4",
    # network3.load_image reads PNG, JPEG, ... pictures of digits
    "pillow>=10,<14",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["network3=network3.cli:run"]},
)
