"""install.sh, run for real: a throwaway venv (packages from the registry) and a stand-in
LightShowPi tree made here (just the files install.sh checks for, not LightShowPi's code)."""
import configparser
import filecmp
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

SCRIPT = os.path.join(REPO, "install.sh")
DIST = "lightshowpi-autoencoder"
PTH = "lightshowpi_autoencoder.pth"
NUMPY_PIN = "1.26.4"
USER_COMMENT = "# my own note about chunk sizes"
OVERRIDES = """\
[hardware]
gpio_pins = 0,1,2,3

[audio_processing]
{comment}
chunk_size = 4096
min_frequency = 20

[lightshow]
mode = playlist
""".format(comment=USER_COMMENT)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SYNCHRONIZED_LIGHTS_HOME", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(extra)
    return env


def run_install(*args, cwd, env=None):
    return subprocess.run(["bash", SCRIPT, *map(str, args)], cwd=str(cwd), env=env or clean_env(),
                          capture_output=True, text=True, timeout=300)


def py_out(py, code, cwd):
    r = subprocess.run([str(py), "-c", code], cwd=str(cwd), env=clean_env(),
                       capture_output=True, text=True)
    return r.returncode, r.stdout.strip(), r.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """One throwaway venv for the module, with an older numpy already in it."""
    root = tmp_path_factory.mktemp("installvenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    py = root / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if subprocess.run(pip + ["numpy==" + NUMPY_PIN]).returncode != 0:
        subprocess.run(pip + ["numpy<2"], check=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    numpy = subprocess.run([str(py), "-c", "import numpy; print(numpy.__version__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return {"root": root, "python": py, "site": site, "numpy": numpy}


def make_tree(base, overrides=OVERRIDES):
    """A stand-in LightShowPi install: the three files install.sh checks for."""
    tree = base / "lightshowpi"
    (tree / "py").mkdir(parents=True)
    (tree / "config").mkdir()
    (tree / "py" / "synchronized_lights.py").write_text("# stand-in\n")
    (tree / "py" / "fft.py").write_text("class FFT(object):\n    pass\n")
    (tree / "config" / "defaults.cfg").write_text("[audio_processing]\nchunk_size = 2048\n")
    if overrides is not None:
        (tree / "config" / "overrides.cfg").write_text(overrides)
    return tree


def section_lines(text, name):
    """The lines of section ``name`` (header excluded)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith("["):
            inside = line.strip() == "[%s]" % name
            continue
        if inside:
            out.append(line)
    return out


ON = re.compile(r"^\s*autoencoder\s*=\s*on\s*$")


def test_refuses_a_folder_that_is_not_lightshowpi(tmp_path):
    other = tmp_path / "not lightshowpi"
    (other / "py").mkdir(parents=True)
    (other / "py" / "fft.py").write_text("")
    r = run_install("--lightshowpi", other, "--python", sys.executable, "--enable", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert str(other) in r.stderr and "not a LightShowPi install" in r.stderr
    assert "py/synchronized_lights.py" in r.stderr and "config/defaults.cfg" in r.stderr
    assert not (other / "config").exists()

    r = run_install("--enable", cwd=tmp_path)  # neither --lightshowpi nor SYNCHRONIZED_LIGHTS_HOME
    assert r.returncode == 2 and "--lightshowpi" in r.stderr

    r = run_install(cwd=tmp_path, env=clean_env(SYNCHRONIZED_LIGHTS_HOME=str(tmp_path / "gone")))
    assert r.returncode == 2 and str(tmp_path / "gone") in r.stderr


def test_install_enable_rerun_uninstall(venv, tmp_path):
    py, site = venv["python"], venv["site"]
    tree = make_tree(tmp_path)
    cfg = tree / "config" / "overrides.cfg"
    backup = tree / "config" / "overrides.cfg.bak-autoencoder"
    models = tree / "config" / "autoencoder"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    r = run_install("--python", py, "--lightshowpi", tree, "--enable", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "backend " in out and "numpy is still %s" % venv["numpy"] in out

    # the package and its start-up hook are in the venv, and import from there
    assert os.path.isfile(os.path.join(site, PTH))
    rc, where, err = py_out(py, "import lightshowpi_autoencoder as p, lightshowpi_autoencoder.host"
                                "; print(p.__file__)", elsewhere)
    assert rc == 0, err
    assert where.startswith(site)
    assert os.path.isfile(os.path.join(site, "lightshowpi_autoencoder", "models", "default.tflite"))
    # numpy was there first: untouched
    assert py_out(py, "import numpy; print(numpy.__version__)", elsewhere)[1] == venv["numpy"]

    # the default model, for the user to see
    for name in ("default.tflite", "default.json"):
        assert filecmp.cmp(str(models / name), os.path.join(REPO, "models", name), shallow=False)

    # exactly one enabling line, inside [audio_processing], the user's comment kept
    text = cfg.read_text()
    assert [line for line in text.splitlines() if ON.match(line)] == ["autoencoder = on"]
    section = section_lines(text, "audio_processing")
    assert "autoencoder = on" in section and USER_COMMENT in section
    added = [line for line in text.splitlines() if line not in OVERRIDES.splitlines()]
    assert len(added) <= 2 and all(ON.match(a) or a.startswith("#") for a in added)
    parser = configparser.RawConfigParser(allow_no_value=True)  # as LightShowPi reads it
    parser.read_string(text)
    assert parser.get("audio_processing", "autoencoder") == "on"
    assert parser.get("audio_processing", "chunk_size") == "4096"
    assert backup.read_text() == OVERRIDES

    # a second run changes nothing
    r = run_install("--python", py, "--lightshowpi", tree, "--enable", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "unchanged" in r.stdout
    assert cfg.read_text() == text and backup.read_text() == OVERRIDES

    # uninstall takes all of it away again, and the file is the user's own once more
    r = run_install("--python", py, "--lightshowpi", tree, "--uninstall", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    rc, _, _ = py_out(py, "import lightshowpi_autoencoder", elsewhere)
    assert rc != 0
    assert not os.path.exists(os.path.join(site, PTH))
    assert subprocess.run([str(py), "-m", "pip", "show", DIST], capture_output=True).returncode != 0
    assert not models.exists()
    assert cfg.read_text() == OVERRIDES
    assert not backup.exists() and "removed the backup %s" % backup in r.stdout
    assert py_out(py, "import numpy; print(numpy.__version__)", elsewhere)[1] == venv["numpy"]

    # and a second uninstall finds nothing to do
    r = run_install("--python", py, "--lightshowpi", tree, "--uninstall", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not installed" in r.stdout and cfg.read_text() == OVERRIDES


@pytest.mark.parametrize("before, expect_section", [
    (None, "[audio_processing]\nautoencoder = on\n"),  # no overrides.cfg at all
    ("[hardware]\ngpio_pins = 0,1\n", None),          # no [audio_processing] yet
    ("[audio_processing]\n# keep me\nautoencoder = off\nchunk_size = 2048\n", None),
])
def test_enable_edits_each_kind_of_overrides(venv, tmp_path, before, expect_section):
    tree = make_tree(tmp_path, overrides=before)
    cfg = tree / "config" / "overrides.cfg"
    r = run_install("--python", venv["python"], "--lightshowpi", tree, "--enable", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    text = cfg.read_text()
    assert [line for line in text.splitlines() if ON.match(line)] == ["autoencoder = on"]
    assert "autoencoder = on" in section_lines(text, "audio_processing")
    assert text.count("[audio_processing]") == 1
    assert "autoencoder = off" not in [line.strip() for line in text.splitlines()]  # kept as a comment
    configparser.RawConfigParser(allow_no_value=True).read_string(text)  # strict: no section twice
    if expect_section:
        assert text.endswith(expect_section)
    if before is not None:
        assert (tree / "config" / "overrides.cfg.bak-autoencoder").read_text() == before
        for line in before.splitlines():
            assert line in text or line == "autoencoder = off"
    else:
        assert not (tree / "config" / "overrides.cfg.bak-autoencoder").exists()

    if before is None or "[audio_processing]" not in before:  # the lines it wrote are recognised
        again = run_install("--python", venv["python"], "--lightshowpi", tree, "--enable",
                            cwd=tmp_path)
        assert again.returncode == 0 and cfg.read_text() == text

    r = run_install("--python", venv["python"], "--lightshowpi", tree, "--uninstall", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    if before is None:
        assert not cfg.exists()  # install.sh had created it
    else:
        assert cfg.read_bytes() == before.encode()   # the user's file, byte for byte
    assert not (tree / "config" / "overrides.cfg.bak-autoencoder").exists()


def test_defaults_to_neo_venv_and_dry_run_changes_nothing(venv, tmp_path):
    tree = make_tree(tmp_path)
    (tree / "environment.yml").write_text("name: lightshowpi-neo\n")
    os.symlink(str(venv["root"]), str(tree / "venv"))  # Neo: "python3 -m venv venv" in its folder
    r = run_install("--dry-run", "--enable", cwd=tmp_path,
                    env=clean_env(SYNCHRONIZED_LIGHTS_HOME=str(tree)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "%s/venv/bin/python" % tree.resolve() in r.stdout
    assert "LightShowPi Neo" in r.stdout and "[dry-run]" in r.stdout
    assert not (tree / "config" / "autoencoder").exists()
    assert (tree / "config" / "overrides.cfg").read_text() == OVERRIDES
    assert not (tree / "config" / "overrides.cfg.bak-autoencoder").exists()


def test_sample_overrides_cfg_parses_as_documented(tmp_path):
    from lightshowpi_autoencoder.settings import read_settings, song_settings

    sample = open(os.path.join(REPO, "overrides.cfg"), encoding="utf-8").read()
    home = make_tree(tmp_path, overrides=sample)
    settings = read_settings(str(home), argv=[])
    assert settings.enabled and settings.model is None and not settings.strict

    # the commented optional lines are valid once uncommented
    opened = re.sub(r"(?m)^# (autoencoder_\w+ = )", r"\1", sample, count=2)
    (home / "config" / "overrides.cfg").write_text(opened)
    settings = read_settings(str(home), argv=[])
    assert settings.model == str(home / "config" / "autoencoder" / "my_model.tflite")
    assert settings.strict is False

    # and so is the song example
    song = re.findall(r"(?m)^# (\[custom_audio_processing\]\n)# (autoencoder_model = .*\n)", sample)
    assert song, "the sample shows a song's [custom_audio_processing] line"
    song_cfg = tmp_path / ".song.cfg"
    song_cfg.write_text("".join(song[0]))
    assert song_settings(settings, str(song_cfg)).model.endswith("my_model.tflite")


def test_python_without_numpy_gets_no_pin(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True)
    tree = make_tree(tmp_path)
    r = run_install("--python", bare / "bin" / "python", "--lightshowpi", tree, "--dry-run",
                    cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "numpy       not installed in" in r.stdout and "keeping numpy" not in r.stdout
    assert "[dry-run] installed %s" % DIST in r.stdout
    assert subprocess.run([str(bare / "bin" / "python"), "-m", "pip", "show", DIST],
                          capture_output=True).returncode != 0


# ---------------------------------------------------------------- a user's own file, byte for byte

USER_CRLF = (b"# my LightShowPi settings\r\n[hardware]\r\ngpio_pins = 0,1,2,3\r\n\r\n"
             b"[audio_processing]\r\n; tuned by hand\r\nuse_gpu = False\r\n"
             b"autoencoder_model = autoencoder/mine.tflite\r\nautoencoder_strict = on\r\n\r\n"
             b"[lightshow]\r\nmode = playlist")                        # no final newline


def test_enable_uninstall_enable_keeps_the_users_lines_byte_for_byte(venv, tmp_path):
    """Issue 11: the user's own autoencoder_model line (and everything else) survives, CRLF
    and the missing final newline included, whatever the order of runs."""
    tree = make_tree(tmp_path, overrides=None)
    cfg = tree / "config" / "overrides.cfg"
    backup = tree / "config" / "overrides.cfg.bak-autoencoder"
    cfg.write_bytes(USER_CRLF)
    common = ("--python", venv["python"], "--lightshowpi", tree)
    enabled = None
    for op in ("--uninstall", "--enable", "--enable", "--uninstall", "--uninstall", "--enable",
               "--uninstall"):
        r = run_install(*common, op, cwd=tmp_path)
        assert r.returncode == 0, op + r.stdout + r.stderr
        data = cfg.read_bytes()
        if op == "--enable":
            parser = configparser.RawConfigParser(allow_no_value=True)
            parser.read_string(data.decode())
            assert parser.get("audio_processing", "autoencoder") == "on"
            assert parser.get("audio_processing", "autoencoder_model") == "autoencoder/mine.tflite"
            assert not data.endswith(b"\n") and data.count(b"\n") == data.count(b"\r\n")
            assert enabled is None or data == enabled                  # the same lines every time
            enabled = data
            assert backup.read_bytes() == USER_CRLF and str(backup) in r.stdout
        else:
            assert data == USER_CRLF, op
            assert not backup.exists()
            if enabled is not None:
                assert 'kept your own "autoencoder_model = autoencoder/mine.tflite"' in r.stdout


# ---------------------------------------------------------------- failure paths (issue 15, item 5)

def _immutable_works(path):
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


class Unwritable:
    """Make a file or folder unwritable even for root: ``chattr +i`` (ext2/3/4, xfs, btrfs ...)
    as root, ``chmod a-w`` otherwise. Undone on exit."""

    def __init__(self, path):
        self.path = str(path)

    def __enter__(self):
        if os.geteuid() == 0:
            if not _immutable_works(self.path):
                pytest.skip("chattr +i does not work on %s's filesystem: cannot make a path "
                            "unwritable for root here" % self.path)
        else:
            self.mode = os.stat(self.path).st_mode
            os.chmod(self.path, self.mode & ~0o222)
        assert not os.access(self.path, os.W_OK)
        return self

    def __exit__(self, *exc):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", self.path], check=True)
        else:
            os.chmod(self.path, self.mode)


def snapshot(tree):
    """Every file under the tree with its bytes (and every folder)."""
    out = {}
    for root, dirs, files in os.walk(str(tree)):
        for d in dirs:
            out[os.path.join(root, d)] = None
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.join(root, f)] = fh.read()
    return out


def assert_not_installed(venv):
    py, site = venv["python"], venv["site"]
    assert subprocess.run([str(py), "-m", "pip", "show", DIST], capture_output=True).returncode != 0
    assert not os.path.exists(os.path.join(site, PTH))
    assert not os.path.exists(os.path.join(site, "lightshowpi_autoencoder"))


@pytest.mark.parametrize("locked", ["overrides.cfg", "config"])
def test_an_unwritable_config_is_refused_before_any_change(venv, tmp_path, locked):
    tree = make_tree(tmp_path)
    config = tree / "config"
    target = config / "overrides.cfg" if locked == "overrides.cfg" else config
    before = snapshot(tree)
    with Unwritable(target):
        r = run_install("--python", venv["python"], "--lightshowpi", tree, "--enable", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    err = r.stderr
    assert "cannot write %s" % target in err and "nothing was changed" in err
    assert ("chattr -i" if os.geteuid() == 0 else "sudo") in err
    assert "add \"autoencoder = on\" to [audio_processing]" in err   # the way round it
    assert "Traceback" not in err and "mkdir:" not in err
    assert snapshot(tree) == before                                  # no backup, no model folder
    assert_not_installed(venv)


def test_a_failure_after_pip_is_rolled_back(venv, tmp_path):
    """A step after pip fails (here: copying the model, through a cp that refuses that one
    copy): the package, its .pth and the model folder go again; overrides.cfg is untouched."""
    tree = make_tree(tmp_path)
    before = snapshot(tree)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "cp"
    fake.write_text('#!/bin/sh\nfor a; do last="$a"; done\n'
                    'case "$last" in */config/autoencoder/) echo "cp: simulated failure" >&2; exit 1;; esac\n'
                    'exec /bin/cp "$@"\n')
    fake.chmod(0o755)
    env = clean_env(PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
    r = run_install("--python", venv["python"], "--lightshowpi", tree, "--enable", cwd=tmp_path,
                    env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "simulated failure" in r.stderr
    assert "installed %s" % DIST in r.stdout                 # pip had run ...
    assert "uninstalled %s" % DIST in r.stdout and "rollback" in r.stdout
    assert_not_installed(venv)                               # ... and was undone
    assert snapshot(tree) == before


def test_uninstall_refuses_before_any_change_when_it_cannot_finish(venv, tmp_path):
    tree = make_tree(tmp_path)
    cfg = tree / "config" / "overrides.cfg"
    common = ("--python", venv["python"], "--lightshowpi", tree)
    assert run_install(*common, "--enable", cwd=tmp_path).returncode == 0
    installed = snapshot(tree)
    with Unwritable(cfg):
        r = run_install(*common, "--uninstall", cwd=tmp_path)
    assert r.returncode == 1 and "cannot write %s" % cfg in r.stderr, r.stdout + r.stderr
    assert "nothing was changed" in r.stderr
    assert snapshot(tree) == installed
    assert subprocess.run([str(venv["python"]), "-m", "pip", "show", DIST],
                          capture_output=True).returncode == 0      # still installed
    r = run_install(*common, "--uninstall", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert cfg.read_text() == OVERRIDES and not (tree / "config" / "overrides.cfg.bak-autoencoder").exists()
    assert_not_installed(venv)
