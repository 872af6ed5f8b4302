import os
import sys
import types

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
MUSIC = os.path.join(SHARED, "music")
SAMPLE = os.path.join(REPO, "samples", "sugar-plum-fairy_excerpt.ogg")


def shared_song(name):
    path = os.path.join(MUSIC, name)
    if not os.path.isfile(path):
        pytest.skip("shared test music not found at %s" % path)
    return path


@pytest.fixture(scope="session")
def make_model(tmp_path_factory):
    """Export a small random dense encoder with TensorFlow: make_model(channels) -> path."""
    made = {}

    def make(channels=8, seed=0, hidden=(32, 16)):
        key = (channels, seed, hidden)
        if key not in made:
            pytest.importorskip("tensorflow")
            from train.export import export
            rng = np.random.default_rng(seed)
            sizes = (513,) + tuple(hidden) + (channels,)
            layers = [(rng.normal(0, 1 / np.sqrt(a), (a, b)), rng.normal(0, 0.1, b))
                      for a, b in zip(sizes[:-1], sizes[1:])]
            frames = rng.normal(-4, 2, (200, 513))
            path = str(tmp_path_factory.mktemp("models") / ("m%d_%d" % (channels, seed)))
            made[key] = export(path, layers, frames, 44100, {"training": {"songs": []}}).path
        return made[key]
    return make


class StandInFFT:
    """The interface LightShowPi's fft.FFT offers the plugin (both forks), with
    trivially checkable levels: every value is 1.0 (LightShowPi's are log10 band powers)."""

    def __init__(self, chunk_size, sample_rate, num_bins, min_frequency, max_frequency,
                 custom_channel_mapping, custom_channel_frequencies, input_channels=2, use_gpu=True):
        import configparser
        self.chunk_size, self.sample_rate, self.num_bins = chunk_size, sample_rate, num_bins
        self.min_frequency, self.max_frequency = min_frequency, max_frequency
        self.custom_channel_mapping = custom_channel_mapping
        self.custom_channel_frequencies = custom_channel_frequencies
        self.input_channels, self.use_gpu = input_channels, use_gpu
        self.config = configparser.RawConfigParser(allow_no_value=True)
        self.config_filename = ""
        if use_gpu:
            self.audio_levels = sys.modules[type(self).__module__].AudioLevels(10, num_bins)

    def calculate_levels(self, data):
        np.frombuffer(data, dtype="int16")     # raises on an odd byte count, like LightShowPi
        return np.ones(self.num_bins)

    def compare_config(self, cache_filename):
        self.config_filename = cache_filename.replace(".sync", ".cfg")
        if not os.path.isfile(self.config_filename):
            return False
        self.config.read(self.config_filename)
        try:
            return (self.config.get("fft", "custom_channel_frequencies")
                    == str(self.custom_channel_frequencies)
                    and self.config.getint("fft", "chunk_size") == self.chunk_size)
        except Exception:
            return False

    def save_config(self):
        if self.config.has_section("fft"):
            self.config.remove_section("fft")
        self.config.add_section("fft")
        self.config.set("fft", "chunk_size", str(self.chunk_size))
        self.config.set("fft", "custom_channel_frequencies", str(self.custom_channel_frequencies))
        with open(self.config_filename, "w") as fh:
            self.config.write(fh)


@pytest.fixture
def host_module(monkeypatch):
    """A stand-in ``fft`` module (original fork flavour when gpu=True: it has AudioLevels)."""
    def make(gpu=False):
        mod = types.ModuleType("fft_standin_%s" % ("gpu" if gpu else "cpu"))
        cls = type("FFT", (StandInFFT,), {"__module__": mod.__name__})
        mod.FFT = cls
        if gpu:
            from tests.test_features import EmulatedAudioLevels
            made = []

            class CountingAudioLevels(EmulatedAudioLevels):
                def __init__(self, size, bands):
                    made.append((size, bands))
                    super().__init__(size, bands)
            mod.AudioLevels = CountingAudioLevels
            mod.made = made
            monkeypatch.setitem(sys.modules, "rpi_audio_levels", mod)
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
        return mod
    return make
