"""``python probe.py QUESTION``: what the bench asks another interpreter (the harness
venv, the throw-away venv of the ``.pth`` section), answered on stdout.

Run by path, so it needs nothing of this package in that interpreter. Questions:

* ``versions``: ``PYTHON NUMPY LITERT`` (``not-installed`` when ai-edge-litert is absent)
* ``plugin``: the installed plugin's package folder, then ``True``/``False``: is
  ``lightshowpi_autoencoder.pth`` in a site-packages folder
* ``site``: the first site-packages folder
* ``finder``: ``True`` when the start-up hook registered its finder
* ``startup``: imports ``lightshowpi_autoencoder.startup`` (compiles its bytecode)
"""
import os
import sys

if __name__ == "__main__" and sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
    # run by path: its folder (the bench's modules) must not shadow top-level names
    del sys.path[0]


def answer(question: str) -> str:
    if question == "versions":
        import platform
        from importlib.metadata import version
        import numpy
        try:
            litert = version("ai-edge-litert")
        except Exception:
            litert = "not-installed"
        return "%s %s %s" % (platform.python_version(), numpy.__version__, litert)
    if question == "plugin":
        import site
        import lightshowpi_autoencoder as m
        has_pth = any(os.path.isfile(os.path.join(p, "lightshowpi_autoencoder.pth"))
                      for p in site.getsitepackages())
        return "%s\n%s" % (os.path.dirname(m.__file__), has_pth)
    if question == "site":
        import site
        return site.getsitepackages()[0]
    if question == "finder":
        return str(any(type(f).__name__ == "FftFinder" for f in sys.meta_path))
    if question == "startup":
        import lightshowpi_autoencoder.startup  # noqa: F401
        return ""
    raise SystemExit("probe.py: unknown question %r" % question)


if __name__ == "__main__":
    print(answer(sys.argv[1]))
