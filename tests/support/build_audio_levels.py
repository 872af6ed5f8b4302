"""Build a compiled ``rpi_audio_levels`` for the tests, from the FFTW port's source.

The Pi's GPU build of ``rpi_audio_levels`` (what LightShowPi installs) only builds on a
Raspberry Pi. Its FFTW port (github shineonwcs/rpi-audio-levels) builds on any Debian
machine with ``libfftw3-dev``, a C compiler and Cython, in two variants:

* ``published``: the port as published. Its ``prepare(size, ...)`` takes ``size`` as the
  FFT length itself, so ``AudioLevels(10, 513)`` computes a 10-point FFT (and reads past
  it for bins >= 10): the library the plugin must refuse.
* ``gpu``: ``prepare()`` patched to ``N = 1 << size``, the GPU build's semantics (FFT of
  the first 2**size samples, log10 of band power sums, the 50-entry mean/std queue) in
  compiled code.

Nothing of that code is kept in this repository: the source is read from a git mirror
(``$RPI_AUDIO_LEVELS_SRC``, a git directory or a source folder; default
:data:`DEFAULT_SOURCE`), built in a temporary folder and cached under
``$LSPAI_BUILD_CACHE`` (default ``~/.cache/lightshowpi-autoencoder/rpi_audio_levels``),
one folder per variant, source tree, Python ABI and numpy/Cython versions.

:func:`build` returns the folder holding the module; put it first on ``PYTHONPATH`` so it
wins over the harness's pure-Python stand-in (which the harness appends to ``sys.path``).
When the source, a compiler, FFTW's headers or Cython are missing it raises
:class:`Unavailable` saying which, for the tests to skip with that reason.

    python -m tests.support.build_audio_levels [--variant gpu|published] [--python PY]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import Dict, Optional

DEFAULT_SOURCE = "/work/.mirror/shineonwcs+rpi-audio-levels/repo"
VARIANTS = ("published", "gpu")
C_FILE = "src/_rpi_audio_levels.c"
# the one line of prepare() that decides the FFT length
SIZE_LINE = re.compile(r"^(\s*)fft_size = size;", re.M)
GPU_LINE = r"\1fft_size = 1 << size;  /* patched by lightshowpi-autoencoder's tests: the GPU build's N */"
FFTW_PROBE = "#include <fftw3.h>\nint main(void) { fftw_free(fftw_malloc(8)); return 0; }\n"


class Unavailable(Exception):
    """The module cannot be built here; ``str()`` says why and what would fix it."""


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


def source_location() -> str:
    """The port's source: a git directory or a folder holding setup.py and src/."""
    src = os.environ.get("RPI_AUDIO_LEVELS_SRC") or DEFAULT_SOURCE
    if not os.path.exists(src):
        raise Unavailable("the rpi_audio_levels FFTW port's source is not at %s (fetch "
                          "github:shineonwcs/rpi-audio-levels and set RPI_AUDIO_LEVELS_SRC to it)" % src)
    return src


def _is_git_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))


def _extract(src: str, dest: str) -> str:
    """Copy the source tree into ``dest``; return an id of its content (tree hash)."""
    if _is_git_dir(src):
        tree = _run(["git", "--git-dir", src, "rev-parse", "HEAD^{tree}"])
        archive = subprocess.run(["git", "--git-dir", src, "archive", "--format=tar", "HEAD"],
                                 capture_output=True)
        if tree.returncode or archive.returncode:
            raise Unavailable("cannot read the git directory %s: %s"
                              % (src, (tree.stderr + archive.stderr.decode(errors="replace")).strip()))
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)
        return tree.stdout.strip()
    if not os.path.isfile(os.path.join(src, "setup.py")):
        raise Unavailable("%s is neither a git directory nor a folder with setup.py" % src)
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git", "build"))
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(dest)):
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as fh:
                digest.update(name.encode() + fh.read())
    return digest.hexdigest()[:20]


def _patch(tree: str, variant: str) -> None:
    path = os.path.join(tree, C_FILE)
    if not os.path.isfile(path):
        raise Unavailable("the port's source has no %s" % C_FILE)
    if variant == "published":
        return
    with open(path) as fh:
        text = fh.read()
    patched, count = SIZE_LINE.subn(GPU_LINE, text)
    if count != 1:
        raise Unavailable("cannot make the GPU variant: %s has %d lines 'fft_size = size;' "
                          "(expected 1 in prepare()); the port changed" % (path, count))
    with open(path, "w") as fh:
        fh.write(patched)


def _toolchain(python: str) -> Dict[str, str]:
    """Check compiler, FFTW and Cython for ``python``; return the versions that key the cache."""
    probe = _run([python, "-c", "import sys, sysconfig, numpy, Cython\n"
                  "print(sysconfig.get_config_var('EXT_SUFFIX')); print(numpy.__version__); "
                  "print(Cython.__version__); print(sysconfig.get_config_var('CC') or 'cc')"])
    if probe.returncode:
        missing = "Cython" if "Cython" in probe.stderr else "numpy" if "numpy" in probe.stderr else None
        raise Unavailable("%s cannot build rpi_audio_levels: %s (pip install %s)"
                          % (python, probe.stderr.strip().splitlines()[-1] if probe.stderr.strip()
                             else "it does not run", missing or "Cython numpy"))
    suffix, numpy_version, cython_version, cc = probe.stdout.split("\n")[:4]
    compiler = cc.split()[0] if cc.split() else "cc"
    if not shutil.which(compiler):
        raise Unavailable("no C compiler (%s) to build rpi_audio_levels (apt-get install gcc)" % compiler)
    with tempfile.TemporaryDirectory() as tmp:
        r = _run([compiler, "-x", "c", "-", "-o", os.path.join(tmp, "probe"), "-lfftw3"],
                 input=FFTW_PROBE)
    if r.returncode:
        raise Unavailable("FFTW's headers or library are missing, needed to build rpi_audio_levels "
                          "(apt-get install libfftw3-dev): %s" % r.stderr.strip()[-300:])
    return {"suffix": suffix, "numpy": numpy_version, "cython": cython_version}


def cache_root() -> str:
    return os.environ.get("LSPAI_BUILD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "lightshowpi-autoencoder", "rpi_audio_levels")


def build(variant: str = "gpu", python: Optional[str] = None) -> str:
    """Build (or reuse) one variant for ``python`` (default: this interpreter).

    :returns: the folder holding ``rpi_audio_levels<EXT_SUFFIX>``, importable by ``python``.
    :raises Unavailable: source, compiler, FFTW or Cython missing, or the build failed.
    """
    if variant not in VARIANTS:
        raise ValueError("variant must be one of %s, got %r" % (VARIANTS, variant))
    python = python or sys.executable
    src = source_location()
    tools = _toolchain(python)
    root = cache_root()
    os.makedirs(root, exist_ok=True)
    work = tempfile.mkdtemp(prefix="build-", dir=root)
    try:
        tree = os.path.join(work, "src")
        content = _extract(src, tree)
        key = hashlib.sha256(repr((content, variant, GPU_LINE, sorted(tools.items()))).encode())
        final = os.path.join(root, "%s-%s" % (variant, key.hexdigest()[:16]))
        if not _importable(final, python):
            _patch(tree, variant)
            out = os.path.join(work, "out")
            r = _run([python, "setup.py", "build_ext", "--build-lib", out, "--build-temp",
                      os.path.join(work, "tmp")], cwd=tree)
            if r.returncode:
                raise Unavailable("building rpi_audio_levels (%s) from %s failed:\n%s"
                                  % (variant, src, "\n".join((r.stdout + r.stderr).splitlines()[-15:])))
            if not _importable(out, python):
                raise Unavailable("the rpi_audio_levels built from %s does not import in %s"
                                  % (src, python))
            shutil.rmtree(final, ignore_errors=True)
            os.rename(out, final)
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _importable(folder: str, python: str) -> bool:
    if not os.path.isdir(folder):
        return False
    r = subprocess.run([python, "-c", "import rpi_audio_levels, sys; "
                        "sys.exit(0 if rpi_audio_levels.__file__.startswith(sys.argv[1]) else 1)",
                        folder], cwd="/", capture_output=True,
                       env=dict(os.environ, PYTHONPATH=folder))
    return r.returncode == 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=VARIANTS, default="gpu")
    ap.add_argument("--python", default=None, help="the Python to build for (default: this one)")
    args = ap.parse_args(argv)
    try:
        print(build(args.variant, args.python))
    except Unavailable as exc:
        print("not built: %s" % exc, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
