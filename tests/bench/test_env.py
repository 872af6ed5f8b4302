"""Where the bench finds what it measures (train/bench/env.py)."""
from __future__ import annotations

import os

from train.bench import env


def _fake_checkout(root, ez):
    os.makedirs(os.path.join(root, "py"))
    with open(os.path.join(root, "py", "fft.py"), "w") as fh:
        fh.write("from rpi_audio_levels import AudioLevels\n" if ez else "import numpy\n")
    return str(root)


def test_fork_detection_and_checkout_resolution(tmp_path):
    ez = _fake_checkout(tmp_path / "ez", True)
    neo = _fake_checkout(tmp_path / "neo", False)
    assert env.fork_of(ez) == "ez" and env.fork_of(neo) == "neo"
    assert env.fork_of(str(tmp_path)) is None
    got = env.resolve_checkouts(None, None, env={"LIGHTSHOWPI_HOME": neo})
    assert got["neo"] == (os.path.abspath(neo), "") and got["ez"][0] is None
    assert "--lsp-ez" in got["ez"][1]
    got = env.resolve_checkouts(None, None, env={"LIGHTSHOWPI_EZ": ez, "LIGHTSHOWPI_NEO": neo})
    assert got["ez"][0] == os.path.abspath(ez) and got["neo"][0] == os.path.abspath(neo)
    got = env.resolve_checkouts(str(tmp_path / "nowhere"), None, env={})
    assert got["ez"][0] is None and "not a LightShowPi checkout" in got["ez"][1]
