"""Reading the plugin's lines from LightShowPi's configuration files."""
import pytest

from lightshowpi_autoencoder.errors import PluginError
from lightshowpi_autoencoder.settings import Settings, read_settings, song_settings


@pytest.fixture
def home(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "defaults.cfg").write_text("[audio_processing]\nchunk_size = 2048\n")
    return tmp_path


def test_off_unless_a_line_says_on(home):
    assert read_settings(str(home), argv=[]).enabled is False
    (home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = on\n")
    s = read_settings(str(home), argv=[])
    assert s == Settings(enabled=True, model=None, strict=False, source=str(home / "config" / "overrides.cfg"))


def test_config_option_is_honoured_relative_or_absolute(home, tmp_path):
    (home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = on\n")
    (home / "config" / "show.cfg").write_text(
        "[audio_processing]\nautoencoder = yes\nautoencoder_model = mine/m.tflite\nautoencoder_strict = on\n")
    s = read_settings(str(home), argv=["synchronized_lights.py", "--config", "show.cfg"])
    assert s.enabled and s.strict and s.model == str(home / "config" / "mine" / "m.tflite")
    other = tmp_path / "elsewhere.cfg"
    other.write_text("[audio_processing]\nautoencoder = off\n")
    assert read_settings(str(home), argv=["x", "--config=%s" % other]).enabled is False


def test_default_keyword_means_shipped_model(home):
    (home / "config" / "overrides.cfg").write_text(
        "[audio_processing]\nautoencoder = on\nautoencoder_model = default\n")
    assert read_settings(str(home), argv=[]).model is None


def test_bad_flag_names_file_and_fix(home):
    (home / "config" / "overrides.cfg").write_text("[audio_processing]\nautoencoder = maybe\n")
    with pytest.raises(PluginError, match="overrides.cfg.*fix: write autoencoder = on or off"):
        read_settings(str(home), argv=[])


def test_song_cfg_overrides_model_relative_to_song(tmp_path):
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_audio_processing]\nautoencoder_model = models/x.tflite\n")
    s = song_settings(Settings(enabled=True), str(cfg))
    assert s.enabled and s.model == str(tmp_path / "models" / "x.tflite")
    assert song_settings(Settings(enabled=True), str(tmp_path / "missing.cfg")) == Settings(enabled=True)
