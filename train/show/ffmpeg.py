"""Which ffmpeg makes the preview video: the system's, else the one ``imageio-ffmpeg`` ships.

An ffmpeg qualifies when it has the two encoders a browser- and phone-playable
MP4 needs: ``libx264`` (H.264) and ``aac``. The system's comes first (it is
what the user installed and keeps up to date); the ``imageio-ffmpeg`` wheel
(a static build, in the ``preview`` extra) covers machines without one, such
as a fresh CI runner. When neither qualifies, :class:`FfmpegError` says what
to install.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import List, Optional, Tuple

#: Encoders the video needs, as ``ffmpeg -encoders`` names them.
REQUIRED_ENCODERS = ("libx264", "aac")
INSTALL_HINT = ("install one: `sudo apt install ffmpeg` (Debian, Raspberry Pi OS) or "
                "`pip install imageio-ffmpeg` (in this project: `pip install -e '.[preview]'`), "
                "or name one with --ffmpeg PATH")


class FfmpegError(Exception):
    """No usable ffmpeg, or ffmpeg failed; the message says what to do."""


@dataclass(frozen=True)
class Ffmpeg:
    """A usable ffmpeg: ``path``, where it came from (``source``) and its version."""

    path: str
    source: str   # "system", "imageio-ffmpeg" or "given"
    version: str

    def describe(self) -> str:
        """One line for the user, e.g. ``/usr/bin/ffmpeg (the system's, version 5.1.9)``."""
        where = {"system": "the system's", "imageio-ffmpeg": "bundled with the imageio-ffmpeg wheel",
                 "given": "given with --ffmpeg"}.get(self.source, self.source)
        return "%s (%s, version %s)" % (self.path, where, self.version)


def _check(path: str, source: str) -> Tuple[Optional[Ffmpeg], str]:
    """``(Ffmpeg, "")`` when ``path`` runs and has the encoders, else ``(None, why not)``."""
    try:
        enc = subprocess.run([path, "-hide_banner", "-encoders"], capture_output=True,
                             text=True, timeout=60)
        ver = subprocess.run([path, "-hide_banner", "-version"], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "%s ffmpeg %s does not run (%s)" % (source, path, exc)
    names = {line.split()[1] for line in enc.stdout.splitlines()
             if len(line.split()) > 1 and len(line.split()[0]) == 6}
    missing = [e for e in REQUIRED_ENCODERS if e not in names]
    if enc.returncode != 0 or missing:
        return None, "%s ffmpeg %s lacks the encoder(s) %s" % (
            source, path, ", ".join(missing) or "(it failed to list them)")
    words = (ver.stdout.split("\n", 1)[0] + " ? ? ?").split()
    version = words[2] if words[:2] == ["ffmpeg", "version"] else "unknown"
    return Ffmpeg(path, source, version), ""


def system_candidate() -> Optional[str]:
    """The ``ffmpeg`` on PATH, or None."""
    return shutil.which("ffmpeg")


def bundled_candidate() -> Tuple[Optional[str], str]:
    """``(path, "")`` of imageio-ffmpeg's own binary, or ``(None, why not)``."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None, "the imageio-ffmpeg package is not installed"
    # its own binary only: get_ffmpeg_exe() would fall back to the system's again
    folder = os.path.join(os.path.dirname(imageio_ffmpeg.__file__), "binaries")
    names = sorted(n for n in os.listdir(folder) if n.startswith("ffmpeg")) if os.path.isdir(folder) else []
    if not names:
        return None, "the imageio-ffmpeg package has no ffmpeg binary for this platform"
    return os.path.join(folder, names[-1]), ""


@functools.lru_cache(maxsize=None)
def find(given: Optional[str] = None) -> Ffmpeg:
    """The ffmpeg to use: ``given`` (a path, or ``"bundled"`` for imageio-ffmpeg's) if any,
    else the system's, else imageio-ffmpeg's.

    :raises FfmpegError: none qualifies; the message names each candidate's
        problem and what to install.
    """
    problems: List[str] = []
    if given == "bundled":
        return bundled()
    if given:
        found, why = _check(given, "given")
        if found:
            return found
        raise FfmpegError("%s; %s" % (why, INSTALL_HINT))
    path = system_candidate()
    if path:
        found, why = _check(path, "system")
        if found:
            return found
        problems.append(why)
    else:
        problems.append("no ffmpeg on PATH")
    path, why = bundled_candidate()
    if path:
        found, why = _check(path, "imageio-ffmpeg")
        if found:
            return found
    problems.append(why)
    raise FfmpegError("no ffmpeg with H.264 (libx264) and AAC encoders: %s. To make the video, %s"
                      % ("; ".join(problems), INSTALL_HINT))


def bundled() -> Ffmpeg:
    """imageio-ffmpeg's binary, checked (for tests and ``--ffmpeg bundled``)."""
    path, why = bundled_candidate()
    if not path:
        raise FfmpegError("%s; %s" % (why, INSTALL_HINT))
    found, why = _check(path, "imageio-ffmpeg")
    if not found:
        raise FfmpegError(why)
    return found
