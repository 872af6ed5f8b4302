"""Training: features identical to the runtime's, Keras/runtime parity, determinism, CLI."""
import json
import logging
import os

import numpy as np
import pytest

from lightshowpi_autoencoder import features, modelfile
from lightshowpi_autoencoder.encoder import Encoder
from lightshowpi_autoencoder.pipeline import ChunkPipeline

from .conftest import SAMPLE

tf = pytest.importorskip("tensorflow", reason="training tests need TensorFlow (pip install .[train])")

from train import data  # noqa: E402
from train.cli import main  # noqa: E402
from train.model import Autoencoder  # noqa: E402


def test_training_frames_are_the_runtime_frames(tmp_path):
    song = data.load_song(SAMPLE, 2048, 44100, str(tmp_path))
    from train.show.audio import decode
    pcm, rate = decode(SAMPLE)
    for i in (0, 100, len(song.features) - 1):
        chunk = pcm[i * 2048:(i + 1) * 2048].tobytes()
        assert np.array_equal(song.features[i], features.chunk_features(chunk, 2, rate, 44100))


def test_feature_cache_is_used_and_keyed_by_settings(tmp_path, monkeypatch):
    first = data.load_song(SAMPLE, 2048, 44100, str(tmp_path))
    assert len(os.listdir(tmp_path)) == 1
    monkeypatch.setattr(data, "decode", lambda p: (_ for _ in ()).throw(AssertionError("decoded")))
    again = data.load_song(SAMPLE, 2048, 44100, str(tmp_path))
    assert np.array_equal(first.features, again.features)
    with pytest.raises(AssertionError, match="decoded"):
        data.load_song(SAMPLE, 4096, 44100, str(tmp_path))


def test_undecodable_and_silent_files_are_skipped_with_a_warning(tmp_path, caplog):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    from train.show.audio import write_wav
    quiet = tmp_path / "quiet.wav"
    write_wav(str(quiet), np.zeros((44100, 2), np.int16), 44100)
    with caplog.at_level(logging.WARNING):
        assert data.load_songs([str(bad), str(quiet)], progress=False) == []
    assert "broken.mp3" in caplog.text and "quiet.wav" in caplog.text


def test_no_usable_audio_is_a_clear_error(tmp_path, capsys, caplog):
    (tmp_path / "broken.ogg").write_bytes(b"junk")
    with caplog.at_level(logging.ERROR):
        rc = main(["fit", str(tmp_path), "--out", str(tmp_path / "m"), "--quiet"])
    assert rc == 2 and "no usable audio" in caplog.text


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The fit command on the bundled sample (2 epochs), run twice with the same seed."""
    out = tmp_path_factory.mktemp("fit")
    paths = []
    for run in ("a", "b"):
        stem = str(out / run / "model")
        assert main(["fit", SAMPLE, "--out", stem, "--epochs", "2", "--quiet", "--candidates", "1",
                     "--cache-dir", str(out / "cache")]) == 0
        paths.append(stem)
    return paths


def test_exported_model_matches_keras_in_the_runtime(fitted):
    stem = fitted[0]
    model = modelfile.load(stem + ".tflite")
    est = Autoencoder.load(stem + "-estimator")
    frames = data.load_song(SAMPLE, 2048, 44100, None).frames[::7]
    keras_z = est.encode(frames)
    from train.fit import orient_channels
    # fit signs and orders the channels on its training frames; replay that map on Keras' output
    _, _, (order, signs) = orient_channels(est.encoder_weights(fold_bands=True), data.load_song(SAMPLE, 2048, 44100, None).frames, 44100,
                                           flip_signs=not est.config.additive_gain)
    expected = keras_z[:, order.astype(int)] * signs
    for backend in ("litert", "numpy"):
        try:
            enc = Encoder(model, backend)
        except Exception as exc:  # litert missing on this platform
            pytest.skip("backend %s unavailable: %s" % (backend, exc))
        runtime_z = np.array([enc.on_frame(f) for f in frames])
        assert np.max(np.abs(runtime_z - expected)) <= 1e-4, backend


def test_same_data_and_seed_give_the_same_model(fitted):
    a, b = (json.load(open(p + ".json")) for p in fitted)
    assert a["tflite_sha256"] == b["tflite_sha256"]
    assert a["calibration"] == b["calibration"]


def test_model_records_what_the_runtime_needs(fitted):
    meta = modelfile.load(fitted[0]).meta
    assert meta["sample_rate"] == 44100 and meta["channels"] == 8
    assert meta["feature_version"] == features.FEATURE_VERSION
    song = meta["training"]["songs"][0]
    assert song["name"] == os.path.basename(SAMPLE) and len(song["sha256"]) == 64
    assert meta["training"]["command"].startswith("python -m train fit")


@pytest.fixture(scope="module")
def fitted_seed(tmp_path_factory):
    """The seed preset (no shaping stage) on the bundled sample, 2 epochs."""
    stem = str(tmp_path_factory.mktemp("fit_seed") / "model")
    assert main(["fit", SAMPLE, "--out", stem, "--preset", "seed", "--epochs", "2", "--quiet",
                 "--cache-dir", str(tmp_path_factory.mktemp("cache"))]) == 0
    return stem


def test_calibration_puts_training_levels_on_lightshowpi_scale(fitted_seed):
    model = modelfile.load(fitted_seed)
    assert model.shaping is None
    from train.show.audio import decode
    pcm, rate = decode(SAMPLE)
    rows = ChunkPipeline(model, 8, 0, rate, 2).song(pcm, 2048)
    live = rows[rows.any(axis=1)]
    assert np.allclose(live.mean(axis=0), 12.0, atol=0.3)
    assert np.allclose(live.std(axis=0), 1.5, atol=0.3)


def test_default_preset_exports_the_switching_stage(fitted):
    """The shipped preset's levels keep the stage's decision clear of LightShowPi's first-play
    line (12 + 0.125 * 1.5), and every channel lights on the sample."""
    from lightshowpi_autoencoder import switching
    model = modelfile.load(fitted[0])
    assert model.shaping == switching.DEFAULTS and model.meta["shaping"]["kind"] == switching.KIND
    assert set(model.calibration["loudness"]) == {"mean", "std"}
    from train.show.audio import decode
    pcm, rate = decode(SAMPLE)
    rows = ChunkPipeline(model, 8, 0, rate, 2).song(pcm, 2048)
    live = rows[rows.any(axis=1)]
    on = live > 12 + 0.125 * 1.5
    assert on.any(axis=0).all(), on.mean(axis=0)
    assert 0.1 < on.mean() < 0.8


def test_fit_keeps_the_best_of_its_candidates(tmp_path):
    stem = str(tmp_path / "m")
    assert main(["fit", SAMPLE, "--out", stem, "--epochs", "1", "--quiet", "--candidates", "2",
                 "--no-estimator", "--cache-dir", str(tmp_path / "cache")]) == 0
    meta = modelfile.load(stem).meta["training"]
    tried = meta["candidates"]
    assert [t["seed"] for t in tried] == [0, 1]
    best = max(tried, key=lambda t: t["shortfall"])
    assert meta["seed"] == best["seed"]
    assert set(tried[0]["margins"]) == {"2048", "4096"}
    assert "register" in tried[0]["margins"]["2048"] and "section_accuracy" in tried[0]["margins"]["2048"]


def test_tuning_buckets_have_as_many_lights_as_the_model(monkeypatch):
    # fit judges a 4-light model against LightShowPi with 4 buckets, not 8
    from train import select
    from train.show import methods
    asked = []
    real = methods.bucket_rows

    def spy(pcm, rate, chunk_size, num_bins=methods.N_CHANNELS, **kw):
        asked.append(num_bins)
        return real(pcm, rate, chunk_size, num_bins, **kw)
    monkeypatch.setattr(methods, "bucket_rows", spy)
    monkeypatch.setattr(select, "TUNING_SEEDS", {"sections": (100,), "melody": ()})
    tuning = select.Tuning.make(4)
    assert asked == [4, 4] and set(tuning.buckets) == {2048, 4096}


def test_untrained_ablation_is_the_initial_network(tmp_path):
    stems = []
    for seed in (0, 0, 1):
        stem = str(tmp_path / ("u%d_%d" % (seed, len(stems))))
        assert main(["fit", SAMPLE, "--out", stem, "--untrained", "--seed", str(seed), "--quiet",
                     "--no-estimator", "--cache-dir", str(tmp_path / "cache")]) == 0
        stems.append(json.load(open(stem + ".json")))
    assert stems[0]["training"]["untrained"] and stems[0]["training"]["epochs"] == 0
    assert stems[0]["tflite_sha256"] == stems[1]["tflite_sha256"]      # seeded
    assert stems[0]["tflite_sha256"] != stems[2]["tflite_sha256"]


def test_seed_preset_is_the_2018_post():
    from train.model import PRESETS
    p = PRESETS["seed"]
    assert (p.hidden, p.input_dropout, p.epochs, p.batch_size) == ((128, 64, 32, 16), 0.2, 10, 256)
    est = Autoencoder(8, "seed")
    m = est._build(513)
    dense = [l for l in m.layers if l.__class__.__name__ == "Dense"]
    assert [l.units for l in dense] == [128, 64, 32, 16, 8, 16, 32, 64, 128, 513]
    assert [l.activation.__name__ for l in dense] == ["tanh"] * 9 + ["sigmoid"]
    assert m.loss == "binary_crossentropy"


def test_runtime_clips_unseen_inputs_like_training_does(fitted):
    """Frames outside the training range (deep silence, clipping) reach the encoder as
    training's MinMax scaling clipped to [0, 1] would give them."""
    stem = fitted[0]
    model = modelfile.load(stem + ".tflite")
    est = Autoencoder.load(stem + "-estimator")
    from train.fit import orient_channels
    _, _, (order, signs) = orient_channels(est.encoder_weights(fold_bands=True),
                                           data.load_song(SAMPLE, 2048, 44100, None).frames, 44100,
                                           flip_signs=not est.config.additive_gain)
    frames = np.stack([np.full(513, features.FLOOR), np.full(513, 6.0),
                       np.random.default_rng(0).uniform(-14, 8, 513)]).astype(np.float32)
    expected = est.encode(frames)[:, order.astype(int)] * signs
    pipe = ChunkPipeline(model, 8, 0, 44100, 2)
    got = np.array([pipe.encoder.on_frame(np.clip(f, *pipe.input_range)) for f in frames])
    assert np.max(np.abs(got - expected)) <= 1e-4
