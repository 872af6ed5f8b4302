"""``sitecustomize.py`` for the LightShowPi processes of the createcache runs (with and
without the plugin alike; :func:`train.bench.createcache.pinned_decoder_path` copies
it under that name into a folder on their PYTHONPATH).

audioread's ffmpeg reader thread queues decoded audio without bound, so however far
the decoder runs ahead of the chunk loop stayed in memory (0 to the whole song, 16-32
MB peaks from run to run). Its stdout queue is bounded here to
``$LSPAI_BENCH_PINNED_BLOCKS`` blocks (of 8 KiB), so the peak holds a fixed amount of
decoded audio and the difference with and without the plugin is the plugin's. On
close the bound is lifted first, so a reader waiting on a full queue can finish
(close joins it). Without the variable, or without audioread, it changes nothing.
"""
import os
import queue
import threading

try:
    _BLOCKS = int(os.environ.get("LSPAI_BENCH_PINNED_BLOCKS", "0"))
    import audioread.ffdec as _ff
except Exception:
    _ff = None
if _ff is not None and _BLOCKS > 0:
    _next = threading.local()
    _init, _qinit, _close = (_ff.FFmpegAudioFile.__init__, _ff.QueueReaderThread.__init__,
                             _ff.FFmpegAudioFile.close)

    def _file_init(self, *args, **kwargs):
        _next.stdout = True          # the first reader it makes is stdout's (then stderr's)
        try:
            _init(self, *args, **kwargs)
        finally:
            _next.stdout = False

    def _reader_init(self, fh, *args, **kwargs):
        _qinit(self, fh, *args, **kwargs)
        if getattr(_next, "stdout", False):
            _next.stdout = False
            if self.queue is not None:
                self.queue = queue.Queue(maxsize=_BLOCKS)

    def _file_close(self):
        q = getattr(getattr(self, "stdout_reader", None), "queue", None)
        if q is not None and q.maxsize:
            with q.mutex:
                q.maxsize = 0
                q.not_full.notify_all()
        _close(self)

    _ff.FFmpegAudioFile.__init__ = _file_init
    _ff.QueueReaderThread.__init__ = _reader_init
    _ff.FFmpegAudioFile.close = _file_close
