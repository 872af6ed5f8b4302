"""Song files: find them, fingerprint them, decode them to int16 PCM (the samples
LightShowPi's decoder hands over), write WAVs."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from typing import Iterable, List, Tuple

import numpy as np

AUDIO_EXTENSIONS = (".mp3", ".ogg", ".oga", ".flac", ".wav", ".m4a", ".aac", ".opus", ".aiff", ".aif")


def file_sha256(path: str) -> str:
    """The hex SHA-256 of the file's bytes (what the caches and the report key songs by)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_songs(inputs: Iterable[str]) -> List[str]:
    """Expand folders (recursively) and files into a sorted list of audio files."""
    out: List[str] = []
    for item in inputs:
        if os.path.isdir(item):
            for root, _dirs, files in os.walk(item):
                out += [os.path.join(root, f) for f in files
                        if f.lower().endswith(AUDIO_EXTENSIONS) and not f.startswith(".")]
        else:
            out.append(item)
    return sorted(dict.fromkeys(out))


class DecodeError(Exception):
    """The file could not be decoded by any available decoder."""


def decode(path: str) -> Tuple[np.ndarray, int]:
    """Decode ``path``.

    :returns: ``(pcm, rate)``: int16 ``(frames, channels)`` and the sample rate [Hz].
    :raises DecodeError: no decoder reads it (m4a/aac need ffmpeg on PATH).
    """
    errors = []
    try:
        import soundfile as sf
        pcm, rate = sf.read(path, dtype="int16", always_2d=True)
        return np.ascontiguousarray(pcm), int(rate)
    except Exception as exc:  # soundfile raises its own LibsndfileError or RuntimeError
        errors.append("soundfile: %s" % exc)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        try:
            return _ffmpeg(ffmpeg, path)
        except Exception as exc:
            errors.append("ffmpeg: %s" % exc)
    else:
        errors.append("ffmpeg: not on PATH")
    raise DecodeError("%s: cannot decode (%s)" % (path, "; ".join(errors)))


def _ffmpeg(ffmpeg: str, path: str) -> Tuple[np.ndarray, int]:
    probe = subprocess.run([ffmpeg, "-hide_banner", "-i", path], capture_output=True, text=True)
    rate, channels = 44100, 2
    for line in probe.stderr.splitlines():
        if "Audio:" in line:
            for part in line.split(","):
                part = part.strip()
                if part.endswith(" Hz"):
                    rate = int(part.split()[0])
                elif part in ("mono",):
                    channels = 1
            break
    out = subprocess.run([ffmpeg, "-v", "error", "-i", path, "-f", "s16le", "-ac", str(channels),
                          "-ar", str(rate), "-"], capture_output=True, check=True)
    pcm = np.frombuffer(out.stdout, dtype="<i2").reshape(-1, channels)
    return pcm.copy(), rate


def write_wav(path: str, pcm: np.ndarray, rate: int) -> None:
    """Write int16 ``(frames, channels)`` PCM as a WAV file (standard library only)."""
    import wave
    pcm = np.asarray(pcm, dtype=np.int16)
    if pcm.ndim == 1:
        pcm = pcm[:, None]
    with wave.open(path, "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.astype("<i2").tobytes())
