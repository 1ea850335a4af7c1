"""`pip install ./python`: the hftc package (ctypes over libhftc.so, nothing compiled). A setup.py rather than a
pyproject.toml build system: pip then builds it with the setuptools already installed (Debian's
python3-setuptools), offline, instead of fetching one into an isolated environment. The package finds the
library and the command as hftc/__init__.py says: HFTC_LIBRARY and HFTC_BIN, a source tree's build/release, or
where `cmake --install` put them."""
from setuptools import setup

setup(name="hftc", version="0.1.0", description="Hierarchical multi-label text classification: bindings for libhftc",
      packages=["hftc"], python_requires=">=3.9", extras_require={"estimator": ["numpy"]})
