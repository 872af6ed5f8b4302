"""alsaaudio stand-in for the mode tests (tests/integration/modes/) only, not the plugin's;
the ``alsa_standin`` fixture puts this folder first on LightShowPi's ``PYTHONPATH``.

Playback discards the data; with LSPAI_TEST_PACE=1 each write returns when the
audio written so far would have played, as on a sound card. Capture reads the
raw s16le file LSPAI_TEST_CAPTURE one period per read() (LightShowPi sets rate,
channels and period size); at its end it writes what LightShowPi asked for to
LSPAI_TEST_CAPTURE + ".json" and stops the program as Ctrl+C would (SystemExit(0)).
"""
import json
import os
import time

PCM_PLAYBACK, PCM_CAPTURE, PCM_NORMAL, PCM_NONBLOCK, PCM_FORMAT_S16_LE = 0, 1, 0, 1, 2
IS_LSPAI_TEST_STANDIN = True


class ALSAAudioError(Exception):
    pass


def pcms(pcmtype=PCM_PLAYBACK):
    return ["null"]


def cards():
    return []


class PCM(object):
    def __init__(self, type=PCM_PLAYBACK, mode=PCM_NORMAL, device="default", cardindex=-1,
                 rate=44100, channels=2, format=PCM_FORMAT_S16_LE, periodsize=32, periods=4, **kw):
        self.type, self.device, self.rate, self.channels = type, device, rate, channels
        self.format, self.periodsize = format, periodsize
        self._t0, self._frames, self._reads = None, 0, 0
        self._src = open(os.environ["LSPAI_TEST_CAPTURE"], "rb") if type == PCM_CAPTURE else None

    def _set(self, name, value):
        setattr(self, name, value)
        return value

    def setchannels(self, n):
        return self._set("channels", n)

    def setrate(self, r):
        return self._set("rate", r)

    def setformat(self, f):
        return self._set("format", f)

    def setperiodsize(self, p):
        return self._set("periodsize", p)

    def write(self, data):
        frames = len(data) // (2 * max(1, self.channels))
        if os.environ.get("LSPAI_TEST_PACE") == "1":
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            self._frames += frames
            ahead = self._frames / float(self.rate) - (now - self._t0)
            if ahead > 0:
                time.sleep(ahead)
        return frames

    def read(self):
        want = self.periodsize * self.channels * 2
        data = self._src.read(want)
        if len(data) < want:
            with open(os.environ["LSPAI_TEST_CAPTURE"] + ".json", "w") as fh:
                json.dump({"device": self.device, "rate": self.rate, "channels": self.channels,
                           "format": self.format, "periodsize": self.periodsize,
                           "periods_read": self._reads}, fh)
            raise SystemExit(0)
        self._reads += 1
        return self.periodsize, data

    def pause(self, enable=True):
        return 0

    def close(self):
        pass
