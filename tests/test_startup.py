"""The .pth start-up hook in real interpreter start-ups."""
import os
import site
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPO

FAKE_FFT = textwrap.dedent('''
    import numpy
    class FFT(object):
        def __init__(self, *args):
            self.args = args
''')


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv whose site-packages holds our .pth, the repo and this interpreter's packages."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    py = str(root / "bin" / "python")
    sp = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(sp, "zz_deps.pth"), "w") as fh:
        fh.write("\n".join([REPO] + site.getsitepackages()) + "\n")
    with open(os.path.join(REPO, "lightshowpi_autoencoder.pth")) as src, \
            open(os.path.join(sp, "lightshowpi_autoencoder.pth"), "w") as dst:
        dst.write(src.read())
    return py


@pytest.fixture
def lsp_home(tmp_path):
    (tmp_path / "py").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "py" / "fft.py").write_text(FAKE_FFT)
    (tmp_path / "config" / "defaults.cfg").write_text("[audio_processing]\nchunk_size = 2048\n")
    return tmp_path


def run(py, code, env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "SYNCHRONIZED_LIGHTS_HOME"}
    env.update(env_extra or {})
    return subprocess.run([py, "-c", code], capture_output=True, text=True, env=env, cwd=cwd)


PROBE = ("import sys; sys.path.insert(0, sys.argv[0] if False else %r); import fft; "
         "print(getattr(fft.FFT, 'plugin', 'host'), any(type(f).__name__ == 'FftFinder' "
         "for f in sys.meta_path), 'lightshowpi_autoencoder.startup' in sys.modules)")


def test_does_nothing_without_lightshowpi_home(venv, lsp_home):
    r = run(venv, PROBE % str(lsp_home / "py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["host", "False", "False"] and r.stderr == ""


def test_registers_but_leaves_fft_alone_when_not_enabled(venv, lsp_home):
    r = run(venv, PROBE % str(lsp_home / "py"), {"SYNCHRONIZED_LIGHTS_HOME": str(lsp_home)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["host", "True", "True"]


def test_swaps_fft_when_overrides_enable_it(venv, lsp_home):
    (lsp_home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = on\n")
    r = run(venv, PROBE % str(lsp_home / "py"), {"SYNCHRONIZED_LIGHTS_HOME": str(lsp_home)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "lightshowpi_autoencoder"


def test_an_fft_module_elsewhere_is_not_touched(venv, lsp_home, tmp_path_factory):
    (lsp_home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = on\n")
    other = tmp_path_factory.mktemp("other")
    (other / "fft.py").write_text(FAKE_FFT)
    r = run(venv, PROBE % str(other), {"SYNCHRONIZED_LIGHTS_HOME": str(lsp_home)})
    assert r.stdout.split()[0] == "host"


def test_a_broken_config_never_breaks_the_interpreter(venv, lsp_home):
    (lsp_home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = maybe\n")
    r = run(venv, PROBE % str(lsp_home / "py"), {"SYNCHRONIZED_LIGHTS_HOME": str(lsp_home)})
    # nothing at import (LightShowPi's log does not exist yet): the plugin's class stays
    # in place to say it when LightShowPi makes the FFT object, and plays the buckets
    assert r.returncode == 0 and r.stdout.split()[0] == "lightshowpi_autoencoder"
    assert r.stderr == ""
    made = run(venv, "import sys, logging; sys.path.insert(0, %r); import fft; "
                     "logging.basicConfig(stream=sys.stdout, format='%%(levelname)s %%(message)s'); "
                     "f = fft.FFT(2048, 44100, 8, 20, 15000, 0, 0, 2, False); "
                     "print(f._state, f.pipeline)" % str(lsp_home / "py"),
               {"SYNCHRONIZED_LIGHTS_HOME": str(lsp_home)})
    lines = made.stdout.splitlines()
    assert made.returncode == 0 and len(lines) == 2, made.stdout + made.stderr
    assert lines[0].startswith("ERROR") and "autoencoder = on or off" in lines[0]
    assert "overrides.cfg" in lines[0]


def test_a_missing_package_never_breaks_the_interpreter(tmp_path):
    root = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    py = str(root / "bin" / "python")
    sp = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(REPO, "lightshowpi_autoencoder.pth")) as src, \
            open(os.path.join(sp, "lightshowpi_autoencoder.pth"), "w") as dst:
        dst.write(src.read())
    r = run(py, "print('fine')", {"SYNCHRONIZED_LIGHTS_HOME": str(tmp_path)}, cwd=str(tmp_path))
    assert r.returncode == 0 and r.stdout == "fine\n" and r.stderr == ""
