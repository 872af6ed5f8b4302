"""An orderly stop for ``autoencoder_strict = on``: exit status 1, the reason last in the log.

The plugin stops LightShowPi by raising ``SystemExit(1)`` from inside its
song loop (``calculate_levels`` / ``compare_config``), so LightShowPi's own
clean-up (its ``atexit`` function: lights off, state reset) runs as on any
exit. Two things would otherwise spoil that exit:

* **The decoder's reader threads.** audioread's ffmpeg backend (LightShowPi
  Neo's decoder, and what the test harness gives the original) reads the
  decoded song in *daemon* threads, each blocked in a read of the pipe while
  holding its buffered reader's lock, until ffmpeg has decoded the whole song
  into an unbounded queue (the first second or so of a song). An exit in
  that window leaves the decoder open, and the interpreter's final garbage
  collection closes it after the daemon threads are frozen: CPython aborts
  with "Fatal Python error: _enter_buffered_busy ... daemon threads"
  (status -6). A strict stop comes exactly then (the model is loaded when
  the song starts), but it is not the plugin's raise: LightShowPi's own
  Ctrl-C in that window aborts the same way (both forks, in the harness).
  So after LightShowPi's clean-up, while threads still run, the stop closes
  audioread files that are still open (each kills its ffmpeg and joins its
  threads).
* **The reason would not be the last line**: LightShowPi logs from its own
  ``atexit`` function (Neo: "Updating application state").

:func:`arm` registers :func:`_at_exit` when the plugin is installed at
``import fft``, before LightShowPi registers its own ``atexit`` function, so
it runs after it (``atexit`` runs last-registered first). :func:`stop` then
leaves the message for it. Outside LightShowPi (not armed) the message is
logged at once.
"""
from __future__ import annotations

import atexit
import gc
import logging
import sys
from typing import NoReturn, Optional

log = logging.getLogger("lightshowpi_autoencoder")

_armed = False
_pending: Optional[str] = None


def arm() -> None:
    """Register the exit hook once (host.install, at LightShowPi's ``import fft``)."""
    global _armed
    if not _armed:
        atexit.register(_at_exit)
        _armed = True


def stop(message: str) -> NoReturn:
    """Stop the show: ``message`` is logged as one ERROR line, at exit when armed.

    :raises SystemExit: always, with status 1.
    """
    global _pending
    if not _armed:
        log.error(message)
    elif _pending is None:
        _pending = message
    raise SystemExit(1)


def close_decoders() -> int:
    """Close every audioread file still open (no-op when audioread is not loaded).

    :returns: how many were closed.
    """
    base = getattr(sys.modules.get("audioread.base"), "AudioFile", None)
    if base is None:
        return 0
    closed = 0
    for obj in gc.get_objects():
        if isinstance(obj, base):
            try:
                obj.close()
                closed += 1
            except Exception:   # one decoder's trouble must not keep the reason out of the log
                pass
    return closed


def _at_exit() -> None:
    global _pending
    message, _pending = _pending, None
    if message is None:
        return
    close_decoders()
    log.error(message)
    handlers = logging.getLogger().handlers + log.handlers
    for handler in handlers:
        try:
            handler.flush()
        except Exception:
            pass
    # a log that goes to a file leaves the terminal silent: say it there too (with no
    # handler at all, logging's last resort already printed it to stderr)
    if handlers and not any(getattr(h, "stream", None) in (sys.stderr, sys.stdout) for h in handlers):
        try:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        except Exception:
            pass
