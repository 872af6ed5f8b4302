"""A model's metadata is checked field by field at load: hostile values are refused
with the field, the file and the fix, never a bare TypeError / RecursionError /
MemoryError later, and never a dark show."""
import json
import logging

import numpy as np
import pytest

from lightshowpi_autoencoder import modelfile, validate
from lightshowpi_autoencoder.errors import PluginError
from lightshowpi_autoencoder.settings import Settings

from . import bad_models
from .test_host import build, music_chunks


def test_the_shipped_model_passes_and_the_unedited_copy_too(tmp_path):
    model = modelfile.load(bad_models.write(tmp_path, lambda meta: None))
    assert model.model_id == modelfile.load(modelfile.default_model_path()).model_id


@pytest.mark.parametrize("name, edit, field", bad_models.CASES, ids=[c[0] for c in bad_models.CASES])
def test_hostile_metadata_is_refused_naming_field_file_and_fix(tmp_path, name, edit, field):
    path = bad_models.write(tmp_path, edit)
    with pytest.raises(PluginError) as err:
        modelfile.load(path)
    text = str(err.value)
    assert field in text, text
    assert err.value.path == path[:-len(".tflite")] + ".json"
    assert "fix:" in text and len(text) < 400


@pytest.mark.parametrize("name, edit, field", bad_models.CASES[:4], ids=[c[0] for c in bad_models.CASES[:4]])
def test_in_the_host_each_falls_back_with_one_error_line(host_module, tmp_path, caplog, name, edit, field):
    path = bad_models.write(tmp_path, edit)
    fft = build(host_module(), Settings(enabled=True, model=path))
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        rows = [fft.calculate_levels(c) for c in music_chunks(3)]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and field in errors[0] and "falling back" in errors[0]
    assert fft._state == "buckets" and all(np.array_equal(r, np.ones(8)) for r in rows)


def test_a_newer_format_asks_for_an_upgrade_not_a_retrain(tmp_path):
    path = bad_models.write(tmp_path, bad_models._set(("format_version",), modelfile.FORMAT_VERSION + 1))
    with pytest.raises(PluginError, match="newer than this plugin reads.*upgrade the plugin"):
        modelfile.load(path)


def test_a_format_3_model_that_reads_the_bins_still_loads_and_runs(tmp_path, make_model):
    """Models made before the band input (format 3, 513 inputs, no input_bands_per_octave)."""
    import shutil
    src = make_model(8)
    meta = json.load(open(modelfile.model_paths(src)[1]))
    meta.update(format_version=3)
    meta.pop("model_id")
    tfl = str(tmp_path / "old.tflite")
    shutil.copyfile(src, tfl)
    meta["model_id"] = modelfile.content_id(open(tfl, "rb").read(), meta)
    with open(str(tmp_path / "old.json"), "w") as fh:
        json.dump(meta, fh)
    model = modelfile.load(tfl)
    assert model.input_bands is None and model.input_size == 513
    from lightshowpi_autoencoder.pipeline import ChunkPipeline
    rng = np.random.default_rng(0)
    row = ChunkPipeline(model, 8, 0, 44100.0, 2)((rng.normal(0, 3000, 4096)).astype(np.int16).tobytes())
    assert row.shape == (8,) and np.isfinite(row).all()


def test_missing_model_fix_names_the_file_that_chose_it(tmp_path):
    with pytest.raises(PluginError, match=r"fix: check autoencoder_model in /x/\.song\.cfg"):
        modelfile.load(str(tmp_path / "nope.tflite"), "/x/.song.cfg")
    with pytest.raises(PluginError, match="reinstall the plugin"):
        modelfile.load(str(tmp_path / "nope.tflite"))


def test_depth_is_checked_without_recursion_and_strings_do_not_count():
    deep = b"[" * 100000 + b"]" * 100000
    with pytest.raises(validate.Invalid, match="nested more than 16"):
        validate.parse_json(deep, 10 ** 6, 16)
    assert validate.parse_json(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[\\"[[["}', 1000, 2) == {"a": "[" * 22 + '"[[['}
    with pytest.raises(validate.Invalid, match="over the limit"):
        validate.parse_json(b"[1, 2]", 5, 4)


@pytest.mark.parametrize("value", [True, 2.0, "2", None, [2], 10 ** 400])
def test_whole_numbers_are_json_integers(value):
    with pytest.raises(validate.Invalid, match="x is .* must be a whole number"):
        validate.whole(value, "x", 0, 10)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10 ** 400, "1", None, True, 11, -1])
def test_reals_are_finite_and_bounded(value):
    with pytest.raises(validate.Invalid, match="must be a finite number in"):
        validate.real(value, "x", 0.0, 10.0)


def test_corrupt_tflite_names_the_file_as_the_fix_when_an_interpreter_is_installed(tmp_path):
    """Re-signed, so only the interpreter can tell: the fix is the file, not a pip install."""
    pytest.importorskip("ai_edge_litert")
    from lightshowpi_autoencoder.encoder import Encoder

    path = bad_models.write(tmp_path, lambda meta: None)
    data = bytearray(open(path, "rb").read())
    data[:64] = bytes(64)                                   # the flatbuffer's header and root
    meta = json.load(open(path[:-7] + ".json"))
    meta.pop("model_id")
    model = modelfile.save(str(tmp_path / "corrupt"), bytes(data), meta)
    with pytest.raises(PluginError) as err:
        Encoder(model, "litert")
    fix = str(err.value).split("fix: ", 1)[1]
    assert "damaged" in fix and not fix.startswith("pip install")


def test_numpy_executor_alone_offers_an_interpreter_first(tmp_path):
    from lightshowpi_autoencoder.encoder import Encoder

    path = bad_models.write(tmp_path, lambda meta: None)
    meta = json.load(open(path[:-7] + ".json"))
    meta.pop("model_id")
    model = modelfile.save(str(tmp_path / "garbage"), b"\x00" * 256, meta)
    with pytest.raises(PluginError) as err:
        Encoder(model, "numpy")
    assert str(err.value).split("fix: ", 1)[1].startswith("install a TFLite interpreter")


def test_calibration_at_its_limits_gives_finite_levels_for_any_finite_output(tmp_path):
    """Why the pipeline needs no second check after calibration (it has one after shaping)."""
    from lightshowpi_autoencoder.pipeline import ChunkPipeline

    def extreme(meta):
        meta.pop("shaping")
        meta["calibration"] = {"mean": [1e4, -1e4] * 4, "std": [1.01e-7, 1e4] * 4}
    model = modelfile.load(bad_models.write(tmp_path, extreme))
    pipe = ChunkPipeline(model, 8, 0, 44100.0, 2)
    chunk = (np.random.default_rng(0).normal(0, 3000, 4096)).astype(np.int16).tobytes()
    for z in ([3e38, -3e38] * 4, [-3e38, 3e38] * 4, [0.0] * 8, [1e4, -1e4] * 4):
        pipe._encode = lambda z=z: np.asarray(z, np.float32)
        with np.errstate(over="ignore"):        # float32 overflow is the point here
            row = pipe(chunk)
        assert np.all(np.isfinite(row)) and np.all((row >= 3) & (row <= 21))


def test_an_oversized_tflite_is_refused_before_it_is_read(tmp_path):
    path = bad_models.write(tmp_path, lambda meta: None)
    with open(path, "r+b") as fh:                     # sparse: no disk space used
        fh.truncate(modelfile.MAX_TFLITE_BYTES + 1)
    with pytest.raises(PluginError, match="over the limit") as err:
        modelfile.load(path)
    assert err.value.path == path and "fix:" in str(err.value)
