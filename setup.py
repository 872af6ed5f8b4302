"""setuptools glue for the two files a plain pyproject cannot place.

* ``lightshowpi_autoencoder.pth`` goes to the root of site-packages: the
  start-up hook (see lightshowpi_autoencoder/startup.py), as coverage.py and
  pytest-cov ship theirs.
* ``models/default.*`` is copied into the package so ``pip install .`` carries
  the default model.
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithHookAndModel(build_py):
    def run(self):
        super().run()
        shutil.copy(os.path.join(HERE, "lightshowpi_autoencoder.pth"), self.build_lib)
        dest = os.path.join(self.build_lib, "lightshowpi_autoencoder", "models")
        os.makedirs(dest, exist_ok=True)
        for path in glob.glob(os.path.join(HERE, "models", "default.*")):
            shutil.copy(path, dest)


setup(cmdclass={"build_py": BuildWithHookAndModel})
