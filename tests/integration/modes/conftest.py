"""The plugin in LightShowPi's other modes, in the real program (both forks).

``../test_file.py`` drives ``--file`` createcache/play; the tests here (one module per
mode, this conftest holds what they share) cover the rest of what LightShowPi does
with a row of levels, with ``autoencoder = on``:
``--playlist``, terminal mode, LED strips (E1.31/sACN, LED only and LED + GPIO),
``networking = server``, pin modes and channel options, ``mode = audio-in`` and
``mode = stream-in``. Each test checks what reached the hardware layer against
LightShowPi's own rule applied to the plugin's levels, which shows that the
plugin replaced the mapping stage and nothing after it.

Runs when ``LIGHTSHOWPI_HOME`` names checkouts (``/tmp/lsp/ez:/tmp/lsp/neo``);
skipped otherwise. How the shared harness (``../shared/lightshowpi-harness``,
not modified) is used:

* ``run_lsp.sh --overrides FILE`` for everything LightShowPi runs with
  ``--file`` (the ``-in`` modes ignore ``--file``);
* ``lsp_boot.py`` (the harness's recorder) called directly, with the config
  merged by the harness's own ``lsp_run.merged_overrides``, where
  ``run_lsp.sh`` cannot go: ``--playlist`` (it always passes ``--file``) and
  terminal mode (curses needs a terminal: run under a pseudo-terminal here).

Each test runs an unmodified *copy* of the checkout in its tmp folder, so
LightShowPi's ``config/state.cfg`` (playlist position), its log and the LED
config file written here stay private to the test.

Two things are fed from the test side, never from the plugin package: a
stand-in ``alsaaudio`` (standin/alsaaudio.py, its folder put first on ``PYTHONPATH``)
that plays a raw PCM file as the capture device for ``audio-in`` and paces
playback in real time like a sound card for terminal mode; and, for
``stream-in``, a ``stream_command_string`` that cats a raw PCM file.

Host limits met here (LightShowPi's, with or without the plugin): Neo's
audio-in drops every chunk (it compares a byte count with chunk_size frames),
so that test skips on Neo with the line number; Neo's EXTEND LED layout needs
one ``active_low_mode`` value per channel; terminal mode divides by zero when
frames come < 1 ms apart (hence the paced playback).
"""
import configparser
import importlib.util
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

from ..conftest import CHECKOUTS, HARNESS, Run, _excerpt



PLUGIN = {"audio_processing": {"autoencoder": "on"}}
SD_LOW, SD_HIGH = 0.5, 0.75            # LightShowPi's defaults (both forks)
FIRST_PLAY_MEAN, FIRST_PLAY_STD = 12.0, 1.5


# ---------------------------------------------------------------- audio material
class Audio:
    """Short clips, made once per module; tests copy them (caches land next to songs)."""

    def __init__(self, folder):
        from train.show.audio import decode
        self.a = _excerpt(_mkdir(folder, "a"), seconds=3)                        # 44.1 kHz stereo
        self.b = _excerpt(_mkdir(folder, "b"), seconds=2, name="sugar-plum-fairy_kevin-macleod.ogg")
        pcm, rate = decode(self.a)
        idx = np.arange(int(len(pcm) * 48000 / rate)) * (rate / 48000.0)
        st = np.stack([np.interp(idx, np.arange(len(pcm)), pcm[:, c]) for c in range(2)], 1)
        self.stereo48 = np.round(st).astype("<i2").tobytes()                     # interleaved L R
        self.mono48 = np.round(st.mean(axis=1)).astype("<i2").tobytes()

    def song(self, which, folder, name=None):
        src = getattr(self, which)
        dst = os.path.join(str(folder), name or os.path.basename(os.path.dirname(src)) + ".wav")
        shutil.copy(src, dst)
        return dst


def _mkdir(folder, name):
    path = os.path.join(str(folder), name)
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return Audio(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="module")
def alsa_standin():
    """The folder of the stand-in ``alsaaudio`` (standin/alsaaudio.py)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin")


# ---------------------------------------------------------------- running LightShowPi
def _lsp_run_module():
    spec = importlib.util.spec_from_file_location("lsp_harness_run",
                                                  os.path.join(HARNESS, "lsp_run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_cfg(path, *layers):
    cfg = configparser.RawConfigParser(allow_no_value=True)
    for layer in layers:
        for section, values in layer.items():
            if not cfg.has_section(section):
                cfg.add_section(section)
            for key, value in values.items():
                cfg.set(section, key, str(value))
    with open(path, "w") as fh:
        cfg.write(fh)
    return path


class ModeRun(Run):
    """A ``run_lsp.sh`` run: the integration Run plus gpio.npy, boot.json and the output."""

    def __init__(self, out):
        super().__init__(out)
        self.boot = self.summary.get("recorder") or {}
        g = os.path.join(out, "gpio.npy")
        self.gpio = np.load(g) if os.path.isfile(g) else None
        with open(os.path.join(out, "program_output.txt"), errors="replace") as fh:
            self.output = fh.read()


class BootRun:
    """A direct ``lsp_boot.py`` run (what run_lsp.sh cannot express)."""

    def __init__(self, out, returncode, output, log):
        self.out, self.returncode, self.output, self.log = out, returncode, output, log
        self.boot = {}
        path = os.path.join(out, "boot.json")      # written at the program's exit
        if os.path.isfile(path):
            with open(path) as fh:
                self.boot = json.load(fh)
        path = os.path.join(out, "brightness.npy")
        self.brightness = np.load(path) if os.path.isfile(path) else None
        path = os.path.join(out, "gpio.npy")
        self.gpio = np.load(path) if os.path.isfile(path) else None


class Lsp:
    """An unmodified private copy of one checkout, run through the harness."""

    def __init__(self, checkout, venv, folder):
        self.checkout = checkout
        self.name = os.path.basename(checkout.rstrip("/"))
        self.venv = venv
        self.folder = folder
        self.home = os.path.join(folder, "lsp-" + self.name)
        skip = {"music", ".git", "tests", "__pycache__"}
        shutil.copytree(checkout, self.home, symlinks=True,
                        ignore=lambda d, names: [n for n in names if n in skip
                                                 or os.path.basename(d) == "logs"])
        with open(os.path.join(self.home, "config", "state.cfg"), "w") as fh:
            fh.write("[do_not_modify]\n")
        with open(os.path.join(self.home, "py", "synchronized_lights.py")) as fh:
            self.source = fh.read()
        self.n = 0

    def _next(self, what):
        self.n += 1
        return os.path.join(self.folder, "%s%d" % (what, self.n))

    def run(self, song, mode="play", settings=None, plugin=True, env=None, fresh=False,
            expect_ok=True, timeout=300):
        """``run_lsp.sh`` with ``--overrides`` (the plugin line first, ``settings`` after)."""
        out = self._next("out")
        cfg = _write_cfg(out + ".cfg", PLUGIN if plugin else {}, settings or {})
        cmd = [os.path.join(HARNESS, "run_lsp.sh"), "--lsp", self.home, "--venv", self.venv,
               "--song", song, "--mode", mode, "--out", out, "--overrides", cfg,
               "--timeout", str(timeout)]
        if fresh:
            cmd.append("--fresh")
        r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        if expect_ok:
            assert r.returncode == 0, "%s\n%s\n%s" % (r.stdout, r.stderr, _tail(out))
        return ModeRun(out)

    def boot(self, args, settings=None, plugin=True, env=None, tty=False, timeout=120):
        """``lsp_boot.py --home COPY --out DIR -- ARGS --config MERGED`` (as lsp_run does)."""
        out = self._next("boot")
        os.makedirs(out)
        user = _write_cfg(out + ".cfg", PLUGIN if plugin else {}, settings or {})
        merged = os.path.join(out, "lsp_overrides.cfg")
        _lsp_run_module().merged_overrides(self.home, user, False, merged)
        rel = os.path.relpath(merged, os.path.join(self.home, "config"))
        cmd = [os.path.join(self.venv, "bin", "python"), os.path.join(HARNESS, "lsp_boot.py"),
               "--home", self.home, "--out", out, "--"] + list(args) + ["--config", rel]
        full_env = dict(os.environ, SYNCHRONIZED_LIGHTS_HOME=self.home, PYTHONUNBUFFERED="1",
                        PYTHONDONTWRITEBYTECODE="1", **(env or {}))
        dbg = os.path.join(self.home, "logs", "music_and_lights.play.dbg")
        offset = os.path.getsize(dbg) if os.path.isfile(dbg) else 0
        if tty:
            rc, raw = _run_in_pty(cmd, self.home, full_env, timeout)
        else:
            p = subprocess.run(cmd, cwd=self.home, env=full_env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
            rc, raw = p.returncode, p.stdout
        output = raw.decode("utf-8", "replace")
        with open(os.path.join(out, "program_output.txt"), "w") as fh:
            fh.write(output)
        log = ""
        if os.path.isfile(dbg):
            with open(dbg, errors="replace") as fh:
                fh.seek(offset)
                log = fh.read()
        if not log.strip():   # Neo logs to stderr off a Pi (see the harness README)
            log = "\n".join(l for l in output.replace("\r", "\n").splitlines()
                            if re.search(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL):", l))
        return BootRun(out, rc, output, log)


def _tail(out):
    path = os.path.join(out, "program_output.txt")
    if not os.path.isfile(path):
        return "(no output)"
    with open(path, errors="replace") as fh:
        return fh.read()[-3000:]


def _run_in_pty(cmd, cwd, env, timeout, rows=24, cols=80):
    """Run ``cmd`` with a pseudo-terminal of rows x cols as stdin/stdout/stderr; all its output."""
    import fcntl
    import pty
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(env, TERM="xterm", LINES=str(rows), COLUMNS=str(cols))
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    buf = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:        # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                buf += chunk
            elif proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGTERM)   # our own child's process group
                break
        return proc.wait(timeout=30), bytes(buf)
    finally:
        os.close(master)


@pytest.fixture(params=CHECKOUTS or ["none"], ids=lambda p: os.path.basename(p.rstrip("/")))
def lsp(request, harness_venv, tmp_path):
    if not os.path.isfile(os.path.join(request.param, "py", "synchronized_lights.py")):
        pytest.skip("%s is not a LightShowPi checkout" % request.param)
    return Lsp(request.param, harness_venv, str(tmp_path))


# ---------------------------------------------------------------- LightShowPi after the mapping
def read_sync(path):
    m = np.loadtxt(path, ndmin=2)
    return m[0], m[1], m[2:]            # std, mean, one row of levels per chunk


def lightshow_brightness(rows, mean, std, attenuate_pct=0.0, decay_factor=0.0):
    """LightShowPi's ``update_lights`` (both forks, same operation order) for each row."""
    decay = np.zeros(rows.shape[1], dtype="float32")
    out = []
    for matrix in rows:
        b = matrix - mean + (std * SD_LOW)
        b = (b / (std * (SD_LOW + SD_HIGH))) * (1.0 - (attenuate_pct / 100.0))
        b = np.nan_to_num(np.clip(b, 0.0, 1.0))
        if decay_factor > 0:
            decay = np.where(decay <= b, b, decay)
            b = np.where(decay <= b, b, decay)
            decay = np.where(decay - decay_factor > 0, decay - decay_factor, 0)
        out.append(b)
    return np.array(out)


def assert_plugin_cache(song, model_id=None):
    """The song's ``.<song>.cfg`` says the plugin's model made its ``.sync``."""
    cfg = configparser.RawConfigParser(allow_no_value=True)
    path = os.path.join(os.path.dirname(song), "." + os.path.basename(song) + ".cfg")
    cfg.read(path)
    assert cfg.has_section("fft"), "no [fft] section in %s" % path
    mid = cfg.get("fft", "autoencoder_model_id", fallback=None)
    assert mid and mid != "fallback-mixed", "%s is not a plugin cache: %s" % (
        path, dict(cfg.items("fft")))
    assert cfg.get("fft", "custom_channel_frequencies") == "-1"
    if model_id:
        assert mid == model_id
    return mid


def sync_path(song):
    return os.path.join(os.path.dirname(song), "." + os.path.basename(song) + ".sync")


def _model_lines(log):
    return [l for l in log.splitlines() if "lightshowpi_autoencoder: model " in l]


def _pipeline(rate, channels):
    """The plugin's own chunk pipeline in this process (numpy spectrum), default model."""
    from lightshowpi_autoencoder import modelfile
    from lightshowpi_autoencoder.pipeline import ChunkPipeline
    return ChunkPipeline(modelfile.load(modelfile.default_model_path()), 8, 0, rate, channels)


def _running_stats(home):
    """LightShowPi's own RunningStats module of this checkout (the -in modes' mean/std)."""
    spec = importlib.util.spec_from_file_location("lsp_RunningStats_%d" % id(home),
                                                  os.path.join(home, "py", "RunningStats.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def expected_live_brightness(home, chunks, pipeline, full_only, chunk_bytes):
    """What ``audio_in()`` (audio-in and stream-in) hands to the lights for ``chunks``:
    chunks below the host's threshold (max |sample| < 250) are all zeros and do not
    touch the running statistics; the others are the plugin's levels, with mean/std
    from LightShowPi's RunningStats preloaded with 12 / 1.5 (count 2).
    :returns: (brightness rows, number of calculate_levels calls)."""
    stats = _running_stats(home).Stats(8)
    mean = np.full(8, FIRST_PLAY_MEAN, dtype="float32")
    std = np.full(8, FIRST_PLAY_STD, dtype="float32")
    stats.preload(mean, std, 2)
    rows, calls = [], 0
    for data in chunks:
        if not len(data) or (full_only and len(data) != chunk_bytes):
            continue
        if np.abs(np.frombuffer(data, dtype="<i2").astype(np.int32)).max() < 250:
            matrix = np.zeros(8, dtype="float32")
        else:
            matrix = pipeline(data)
            calls += 1
            stats.push(matrix)
            mean, std = stats.mean(), stats.std()
        rows.append(lightshow_brightness(matrix[None, :], mean, std)[0])
    return np.array(rows), calls


def _host_line(source, text):
    for i, line in enumerate(source.splitlines(), 1):
        if text in line:
            return i
    return None


# ---------------------------------------------------------------- UDP capture on localhost
class UdpSink:
    """Receives every datagram sent to 127.0.0.1:port while open."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                self.packets.append(self.sock.recv(65536))
            except socket.timeout:
                pass
            except OSError:
                return

    def take(self):
        """Everything received so far (after the sender went quiet for 0.3 s)."""
        n = -1
        while n != len(self.packets):
            n = len(self.packets)
            time.sleep(0.3)
        got, self.packets = self.packets[:n], self.packets[n:]
        return got

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def udp_sink():
    sink = UdpSink()
    yield sink
    sink.close()


# ================================================================ 1. --playlist
