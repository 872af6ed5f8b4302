"""``python -m train preview`` and ``report`` end to end, on short inputs."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from train import cli
from train.show import methods, preview, report

from ..conftest import MUSIC, REPO, SAMPLE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(argv, capsys):
    rc = cli.main(argv)
    return rc, capsys.readouterr()


def test_preview_of_the_bundled_sample_writes_png_and_summary(tmp_path, capsys):
    rc, out = _run(["preview", "--out", str(tmp_path), "--duration", "6"], capsys)
    assert rc == 0, out.err
    png = tmp_path / "sugar-plum-fairy_excerpt.preview.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    lines = out.out.splitlines()
    assert any(line.startswith("encoder ") for line in lines)
    assert any(line.startswith("buckets ") for line in lines)
    assert "rhythm" in out.out and "detector" in out.out
    assert "wrote %s" % png in out.out


def test_preview_with_pca_and_pwm(tmp_path, capsys):
    rc, out = _run(["preview", SAMPLE, "--out", str(tmp_path), "--duration", "4",
                    "--pca-songs", SAMPLE, "--pin-mode", "pwm", "--stats", "first-play",
                    "--decay-factor", "0.1"], capsys)
    assert rc == 0, out.err
    assert any(line.startswith("pca ") for line in out.out.splitlines())
    assert (tmp_path / "sugar-plum-fairy_excerpt.preview.png").stat().st_size > 10000


def test_preview_of_a_synthetic_song_has_exact_onsets_and_sections(tmp_path, capsys):
    rc, out = _run(["preview", "--synthetic", "1", "--out", str(tmp_path)], capsys)
    assert rc == 0, out.err
    assert "exact" in out.out and "sections" in out.out.split("method")[1].splitlines()[0]
    assert (tmp_path / "synthetic-1.preview.png").is_file()


def test_preview_buckets_have_as_many_lights_as_the_model(tmp_path, capsys, make_model):
    # LightShowPi with gpio_len 4 makes 4 buckets: the comparison must too
    model = make_model(4)
    rc, out = _run(["preview", SAMPLE, "--model", model, "--out", str(tmp_path), "--duration", "3"],
                   capsys)
    assert rc == 0, out.err
    song = preview.load_song(SAMPLE, None, 0.0, 3.0)
    shows = preview.compute(song, methods.ShowSettings(), preview.load_model(model), None,
                            ("encoder", "buckets"))
    assert shows["encoder"].pins.shape[1] == shows["buckets"].pins.shape[1] == 4


def test_preview_reports_a_missing_file(tmp_path, capsys):
    rc, out = _run(["preview", str(tmp_path / "nope.ogg"), "--out", str(tmp_path)], capsys)
    assert rc == 2 and "preview:" in out.err


def test_preview_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from train import cli; rc = cli.main(['preview', '--out', %r, "
            "'--duration', '2']); assert rc == 0, rc; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]; "
            "assert not bad, bad" % str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- live view

class FakeClock:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def clock(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


def test_live_view_is_silent_without_a_terminal():
    stream = io.StringIO()
    assert preview.play_live({"encoder": np.ones((5, 8))}, 0.05, stream=stream) == 0
    assert stream.getvalue() == ""


def test_live_view_paces_frames_with_the_music():
    pins = {"encoder": np.eye(8)[np.arange(10) % 8], "buckets": np.zeros((10, 8))}
    clock, stream = FakeClock(), io.StringIO()
    drawn = preview.play_live(pins, 0.05, speed=2.0, stream=stream, clock=clock.clock,
                              sleep=clock.sleep, force=True)
    assert drawn == 10
    assert clock.now == pytest.approx(9 * 0.05 / 2.0)  # frame i shown at i * chunk / speed
    text = stream.getvalue()
    assert text.count("encoder") == 10 and text.count("\x1b[3A") == 9  # redrawn in place


def test_render_lights_without_color():
    lines = preview.render_lights({"a": np.array([[0, 1, 0.5]])}, 0, 1.5, color=False)
    assert lines[0] == "a  " + "    " + " ████" + " ▒▒▒▒"  # off, on, half
    assert lines[1].strip() == "t =   1.50 s"


def test_summary_table_shows_missing_numbers_as_na():
    row = {k: 0.5 for k, _ in preview.COLUMNS}
    row.update(short_on_fraction=float("nan"), stuck=[3], section_accuracy=None)
    text = preview.summary_table({"encoder": row}, sections=True)
    assert "n/a" in text and " 3" in text and "encoder" in text


# ---------------------------------------------------------------- report

def test_report_on_given_songs_and_synthetic_ones(tmp_path, capsys):
    rc, out = _run(["report", SAMPLE, "--synthetic", "2",
                    "--section-seconds", "2", "--out", str(tmp_path)], capsys)
    assert rc == 0, out.err
    data = json.loads((tmp_path / "report.json").read_text())
    kinds = [s["kind"] for s in data["songs"]]
    assert kinds == ["real", "synthetic", "synthetic"]
    assert set(data["means"]) == {"encoder", "buckets", "pca"}
    real, synthetic = data["songs"][0], data["songs"][1]
    assert real["onset_source"] == "detector" and synthetic["onset_source"] == "exact"
    assert real["methods"]["buckets"]["section_accuracy"] is None
    assert 0 <= synthetic["methods"]["buckets"]["section_accuracy"] <= 1
    assert data["detector_check"] and data["detector_check"][0]["f"] > 0.8
    md = (tmp_path / "report.md").read_text()
    assert "## Mean over songs" in md and "## Legend" in md and "| pca |" in md
    assert "exact" in md and "detector" in md and "leave-one-out" in md


def test_pca_levels_live_on_lightshowpis_scale():
    rng = np.random.default_rng(0)
    frames = rng.normal(-5, 1, (500, 513)) + np.linspace(0, 3, 513)
    pca = methods.Pca.fit([frames[:250], frames[250:]])
    rows = pca.rows(frames, np.zeros(500, bool))
    assert rows.shape == (500, 8)
    np.testing.assert_allclose(rows.mean(axis=0), 12.0, atol=1e-3)
    np.testing.assert_allclose(rows.std(axis=0), 1.5, atol=1e-2)
    loo = methods.FrameStats.of(frames) - methods.FrameStats.of(frames[250:])
    np.testing.assert_allclose(methods.Pca(loo).mean, frames[:250].mean(axis=0))
    silent = np.zeros(500, bool)
    silent[3] = True
    assert (pca.rows(frames, silent)[3] == 0).all()


def test_report_default_songs_are_the_shared_music():
    if not os.path.isdir(MUSIC):
        pytest.skip("shared music not found at %s: the report's default song list is empty" % MUSIC)
    from train.show.audio import list_songs
    assert os.path.normpath(report.MUSIC) == os.path.normpath(MUSIC)
    assert len(list_songs([report.MUSIC])) >= 1


def test_crossval_scores_every_song_with_a_model_that_never_saw_it(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from train.show.audio import decode, write_wav
    pcm, rate = decode(SAMPLE)
    songs = []
    for i, (a, b) in enumerate(((0, 8), (12, 20))):
        path = str(tmp_path / ("part%d.wav" % i))
        write_wav(path, pcm[a * rate:b * rate], rate)
        songs.append(path)
    rc, out = _run(["crossval"] + songs + ["--presets", "seed,default", "--epochs", "1",
                                            "--candidates", "1", "--synthetic", "1",
                                            "--section-seconds", "2", "--melody", "1",
                                            "--melody-seconds", "8", "--out", str(tmp_path / "cv")],
                   capsys)
    assert rc == 0, out.err
    data = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    names = [s["name"] for s in data["songs"]]
    assert names[:2] == ["part0.wav", "part1.wav"]
    assert [s["kind"] for s in data["songs"][2:]] == ["synthetic", "melody"]
    for method in ("seed", "default", "untrained"):
        trained = data["trained_on"][method]
        for name in names[:2]:
            assert trained[name] == [n for n in names[:2] if n != name]   # never the scored song
        assert sorted(trained["(synthetic songs)"]) == names[:2]
        assert len(set(data["models"][method].values())) == 3
    for song in data["songs"]:
        for chunk in ("2048", "4096"):
            assert set(song["by_chunk"][chunk]) == {"seed", "default", "untrained", "buckets",
                                                    "buckets+switching", "pca"}
    assert data["songs"][3]["by_chunk"]["2048"]["default"]["register"] is not None
    assert data["tables"]["2048"]["means"]["buckets"]["section_accuracy"] is not None
    md = (tmp_path / "cv" / "crossval.md").read_text()
    assert "held out" in md and "| default |" in md and "| buckets |" in md
