"""The plugin's settings, read from LightShowPi's own configuration files.

LightShowPi reads ``config/defaults.cfg`` and then ``config/overrides.cfg`` (or
the file named by ``--config``); unknown options are ignored by LightShowPi,
so the plugin's lines live beside LightShowPi's in ``[audio_processing]``::

    [audio_processing]
    autoencoder = on
    autoencoder_model = /path/to/model.tflite
    autoencoder_strict = off

``autoencoder = on`` is the one line that enables the plugin; the model
defaults to the shipped one; ``autoencoder_strict = on`` stops the show on a
plugin error instead of falling back. (LightShowPi's parser keeps inline
comments as part of the value, so comments go on lines of their own.)

A song's own ``.<song>.cfg`` may set ``autoencoder``, ``autoencoder_model`` and
``autoencoder_strict`` in its ``[custom_audio_processing]`` section for that
song only (the plugin reads it when LightShowPi looks for the song's cache).

A value that is not on/off never raises here: it is kept in
:attr:`Settings.problems`, and the plugin's FFT object logs it into LightShowPi's
log (which does not exist yet when ``import fft`` reads these files). A bad
``autoencoder`` leaves the plugin off; a bad ``autoencoder_strict`` counts as
off (fall back) and leaves the rest alone.
"""
from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

SECTION = "audio_processing"
SONG_SECTION = "custom_audio_processing"
_TRUE = {"1", "yes", "true", "on", "enabled"}
_FALSE = {"0", "no", "false", "off", "disabled", ""}


@dataclass(frozen=True)
class Settings:
    """What the configuration asks of the plugin."""

    enabled: bool = False
    model: Optional[str] = None   # None: the shipped default model
    strict: bool = False
    source: str = ""              # the file the last plugin setting came from
    model_source: str = ""        # the file whose autoencoder_model chose ``model``
    strict_source: str = ""       # the file whose autoencoder_strict set ``strict``
    problems: Tuple[str, ...] = ()   # lines that could not be read: message, file and fix


def lightshowpi_home() -> Optional[str]:
    return os.environ.get("SYNCHRONIZED_LIGHTS_HOME") or None


def param_config(argv: Sequence[str]) -> Optional[str]:
    """The value of LightShowPi's ``--config`` option in ``argv``, if any."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def config_files(home: str, argv: Sequence[str]) -> List[str]:
    """The files LightShowPi reads, in order (later wins), as its configuration manager does."""
    config_dir = os.path.join(home, "config")
    chosen = param_config(argv)
    if chosen:
        override = os.path.normpath(os.path.join(config_dir, chosen))   # an absolute one wins
    else:
        override = os.path.join(config_dir, "overrides.cfg")
    return [os.path.join(config_dir, "defaults.cfg"), override]


def _flag(value: str, option: str, path: str, meaning: str) -> Tuple[Optional[bool], str]:
    """``(True/False, "")``, or ``(None, problem)`` when ``value`` is not on/off."""
    v = value.strip().lower()
    if v in _TRUE:
        return True, ""
    if v in _FALSE:
        return False, ""
    from .errors import PluginError
    return None, str(PluginError("%s = %s is not on/off (%s)" % (option, value.strip(), meaning),
                                 path, "write %s = on or off" % option))


def _apply(settings: Settings, parser: configparser.RawConfigParser, section: str, path: str,
           base_dir: str) -> Settings:
    if not parser.has_section(section):
        return settings
    get = lambda key: parser.get(section, key) if parser.has_option(section, key) else None  # noqa: E731
    enabled, model, strict = get("autoencoder"), get("autoencoder_model"), get("autoencoder_strict")
    problems = list(settings.problems)
    if enabled is not None:
        flag, problem = _flag(enabled, "autoencoder", path,
                              "the plugin stays off: LightShowPi's buckets play")
        settings = replace(settings, enabled=bool(flag), source=path)
        problems += [problem] if problem else []
    if model is not None and model.strip():
        m = os.path.expanduser(model.strip())
        m = None if m == "default" else (m if os.path.isabs(m) else os.path.join(base_dir, m))
        settings = replace(settings, model=m, source=path, model_source=path)
    if strict is not None:
        flag, problem = _flag(strict, "autoencoder_strict", path,
                              "taken as off: a plugin error falls back to LightShowPi's buckets")
        settings = replace(settings, strict=bool(flag), source=path, strict_source=path)
        problems += [problem] if problem else []
    return replace(settings, problems=tuple(problems))


def read_settings(home: Optional[str] = None, argv: Optional[Sequence[str]] = None) -> Settings:
    """Settings from LightShowPi's config files (``--config`` honoured); relative
    model paths are relative to ``$SYNCHRONIZED_LIGHTS_HOME/config``."""
    home = home or lightshowpi_home()
    if not home:
        return Settings()
    settings = Settings()
    for path in config_files(home, sys.argv if argv is None else argv):
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
        parser.read(path)
        settings = _apply(settings, parser, SECTION, path, os.path.join(home, "config"))
    return settings


def song_settings(base: Settings, song_cfg: Optional[str]) -> Settings:
    """``base`` overridden by a song's ``.<song>.cfg`` ``[custom_audio_processing]``
    (relative model paths are relative to the song's folder)."""
    if not song_cfg or not os.path.isfile(song_cfg):
        return base
    parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
    parser.read(song_cfg)
    return _apply(base, parser, SONG_SECTION, song_cfg, os.path.dirname(os.path.abspath(song_cfg)))
