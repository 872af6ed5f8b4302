"""Reading the plugin's lines from LightShowPi's configuration files."""
import pytest

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


def test_bad_flag_is_a_problem_naming_file_and_fix_not_an_exception(home):
    over = home / "config" / "overrides.cfg"
    over.write_text("[audio_processing]\nautoencoder = maybe\n")
    s = read_settings(str(home), argv=[])
    assert s.enabled is False and len(s.problems) == 1
    assert str(over) in s.problems[0] and "fix: write autoencoder = on or off" in s.problems[0]


def test_bad_strict_value_leaves_the_plugin_on_and_strict_off(home):
    over = home / "config" / "overrides.cfg"
    over.write_text("[audio_processing]\nautoencoder = on\nautoencoder_strict = maybe\n"
                    "autoencoder_model = m.tflite\n")
    s = read_settings(str(home), argv=[])
    assert s.enabled is True and s.strict is False and s.model == str(home / "config" / "m.tflite")
    assert len(s.problems) == 1 and "autoencoder_strict = maybe" in s.problems[0]
    assert "taken as off" in s.problems[0] and "fix: write autoencoder_strict = on or off" in s.problems[0]
    assert s.model_source == str(over) and s.strict_source == str(over)


def test_song_cfg_sets_strict_and_says_where(tmp_path):
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_audio_processing]\nautoencoder_strict = on\n")
    s = song_settings(Settings(enabled=True, strict=False, strict_source="overrides.cfg"), str(cfg))
    assert s.enabled and s.strict and s.strict_source == str(cfg)
    cfg.write_text("[custom_audio_processing]\nautoencoder_strict = sometimes\n")
    s = song_settings(Settings(enabled=True, strict=True), str(cfg))
    assert s.strict is False and str(cfg) in s.problems[0]


def test_song_cfg_overrides_model_relative_to_song(tmp_path):
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_audio_processing]\nautoencoder_model = models/x.tflite\n")
    s = song_settings(Settings(enabled=True), str(cfg))
    assert s.enabled and s.model == str(tmp_path / "models" / "x.tflite")
    assert song_settings(Settings(enabled=True), str(tmp_path / "missing.cfg")) == Settings(enabled=True)
