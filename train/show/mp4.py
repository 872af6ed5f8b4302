"""The preview MP4: a :class:`train.show.video.Renderer`'s frames and the song's audio
piped through ffmpeg (H.264 yuv420p + AAC, BT.709, ``+faststart``).
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING, Optional

import numpy as np

from . import ffmpeg as ffmpeg_mod

if TYPE_CHECKING:  # only for hints
    from .video import Renderer

#: Sample rates the AAC encoder takes; others are resampled to 48 kHz (timing unchanged).
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)


def encode(path: str, renderer: "Renderer", pcm: np.ndarray, rate: int,
           ff: Optional[ffmpeg_mod.Ffmpeg] = None, progress: bool = True) -> str:
    """Render every frame into ``path`` (MP4: H.264 yuv420p + AAC) with ``pcm`` as its audio.

    :param pcm: int16 ``(frames, channels)``, the samples the shows were computed from.
    :raises ffmpeg.FfmpegError: no usable ffmpeg, or it failed (its message included).
    Writes ``path + ".part"`` and renames it, so a failed run leaves no broken file.
    """
    import subprocess

    from .audio import write_wav

    ff = ff or ffmpeg_mod.find()
    style = renderer.style
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    part = path + ".part"
    audio_rate = [] if int(rate) in AAC_RATES else ["-ar", "48000"]
    with tempfile.TemporaryDirectory(prefix="lspai-video-") as tmp:
        wav = os.path.join(tmp, "audio.wav")
        write_wav(wav, pcm, int(rate))
        cmd = [ff.path, "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % (style.width, style.height),
               "-framerate", str(style.fps), "-i", "pipe:0", "-i", wav,
               "-map", "0:v:0", "-map", "1:a:0",
               # BT.709 limited range, tagged, as browsers and phones assume for HD video
               # (setparams too: newer ffmpegs take the tags from the frames, not the options)
               "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,setparams="
               "range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709",
               "-c:v", "libx264", "-preset", "veryfast", "-tune", "animation", "-crf", "20",
               "-g", str(2 * style.fps), "-pix_fmt", "yuv420p",
               "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
               "-color_range", "tv",
               "-c:a", "aac", "-b:a", "160k"] + audio_rate + [
               "-movflags", "+faststart", "-f", "mp4", part]
        with open(os.path.join(tmp, "ffmpeg.log"), "w+") as errors:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=errors)
            bar, broken = None, False
            try:
                if progress:
                    from tqdm import tqdm
                    bar = tqdm(total=renderer.n_frames, unit="frame", desc="video", leave=False,
                               disable=None, file=sys.stderr)
                for k in range(renderer.n_frames):
                    proc.stdin.write(renderer.frame(k).data)
                    if bar is not None:
                        bar.update(1)
                proc.stdin.close()
            except BrokenPipeError:  # ffmpeg stopped reading: its log says why
                broken = True
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            except BaseException:
                proc.kill()
                proc.wait()
                _remove(part)
                raise
            finally:
                if bar is not None:
                    bar.close()
            rc = proc.wait()
            if rc != 0 or broken:
                errors.seek(0)
                tail = " | ".join(errors.read().strip().splitlines()[-4:])
                _remove(part)
                raise ffmpeg_mod.FfmpegError("%s failed writing %s (exit %d): %s"
                                             % (ff.describe(), path, rc, tail or "no message"))
    os.replace(part, path)
    return path


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
