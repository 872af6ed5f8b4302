"""A strict stop ends the process with status 1 and the reason as the last log line,
even while a decoder's daemon thread is blocked reading its pipe (issue 15, item 3).

The decoder here is audioread's ffmpeg backend in miniature (a module named
``audioread`` written to a tmp folder): a child process's stdout read by a
daemon thread that holds the buffered reader's lock, and a ``close()`` that
kills the child and joins the thread. With a plain ``sys.exit`` while it
reads, the interpreter's final garbage collection closes it after the thread
is frozen and CPython aborts: the control run shows the stand-in reproduces
that. tests/integration/test_bad_input.py runs the real thing in LightShowPi.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPO

FAKE = {
    "audioread/__init__.py": "",
    "audioread/base.py": "class AudioFile:\n    pass\n",
    "audioread/pipefile.py": textwrap.dedent('''
        import subprocess, sys, threading
        from .base import AudioFile

        def _read(fh):                        # audioread's QueueReaderThread.run
            while fh.read(4096):
                pass

        class PipeFile(AudioFile):
            def __init__(self):
                self.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                             stdout=subprocess.PIPE)
                self.reader = threading.Thread(target=_read, args=(self.proc.stdout,), daemon=True)
                self.reader.start()

            def close(self):                  # audioread's FFmpegAudioFile.close
                self.proc.poll()
                if self.proc.returncode is None:
                    self.proc.kill()
                    self.proc.wait()
                self.reader.join()
                self.proc.stdout.close()

            def __del__(self):
                self.close()
    '''),
}

PROGRAM = textwrap.dedent('''
    import atexit, logging, sys, time
    sys.path[:0] = [%(fake)r, %(repo)r]
    logging.basicConfig(filename=%(log)r, level=logging.INFO, format="%%(levelname)s %%(message)s")
    from lightshowpi_autoencoder import stop
    stop.arm()                                  # the plugin, at LightShowPi's import fft
    from audioread.pipefile import PipeFile
    song = PipeFile()                           # LightShowPi's decoder, mid-song
    atexit.register(lambda: logging.info("LightShowPi's exit function"))   # Lightshow()
    time.sleep(0.2)                             # the reader is blocked in read()
    if sys.argv[1] == "strict-stop":
        stop.stop("lightshowpi_autoencoder: model not found; file: m.tflite; fix: f")
    sys.exit(1)
''')


@pytest.fixture
def program(tmp_path):
    for name, text in FAKE.items():
        path = tmp_path / "fake" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    script = tmp_path / "show.py"

    def run(how):
        log = tmp_path / ("%s.log" % how)
        script.write_text(PROGRAM % {"fake": str(tmp_path / "fake"), "repo": REPO, "log": str(log)})
        r = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True,
                           timeout=120)
        return r, log.read_text().splitlines()
    return run


def test_plain_exit_mid_song_aborts_so_the_stand_in_is_faithful(program):
    r, _ = program("plain-exit")
    if os.name != "posix":
        pytest.skip("the abort is a POSIX signal")
    assert r.returncode != 1 and "Fatal Python error" in r.stderr


def test_strict_stop_exits_1_with_the_reason_last(program):
    r, lines = program("strict-stop")
    assert r.returncode == 1 and "Fatal Python error" not in r.stderr, r.stderr
    assert lines[-2:] == ["INFO LightShowPi's exit function",
                          "ERROR lightshowpi_autoencoder: model not found; file: m.tflite; fix: f"]
    assert sum("ERROR" in line for line in lines) == 1
    # the log goes to a file, so the terminal gets the reason too
    assert "model not found" in r.stderr
