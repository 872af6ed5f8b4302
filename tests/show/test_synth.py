"""Synthetic songs (train/show/synth.py): the ground truth matches the audio."""
import numpy as np
import pytest

from train.show import synth


@pytest.fixture(scope="module")
def song():
    return synth.make_song(7, section_seconds=4, repeats=2)


def test_format_and_length(song):
    assert song.pcm.dtype == np.int16 and song.pcm.ndim == 2 and song.pcm.shape[1] == 2
    assert song.rate == 44100
    assert song.seconds == len(synth.KINDS) * 2 * 4
    assert 0 < np.abs(song.pcm).max() < 32767  # no clipping


def test_deterministic_by_seed():
    a, b = synth.make_song(3, 2, 2), synth.make_song(3, 2, 2)
    np.testing.assert_array_equal(a.pcm, b.pcm)
    np.testing.assert_array_equal(a.onsets, b.onsets)
    assert not np.array_equal(a.pcm, synth.make_song(4, 2, 2).pcm)


def test_sections_cover_the_song_with_every_kind_repeated(song):
    secs = song.sections
    assert secs[0].start == 0 and secs[-1].end == song.seconds
    assert all(a.end == b.start for a, b in zip(secs, secs[1:]))
    assert sorted(s.kind for s in secs) == sorted(list(synth.KINDS) * 2)
    assert all(a.kind != b.kind for a, b in zip(secs, secs[1:]))
    labels, instances = song.second_labels()
    assert len(labels) == int(song.seconds)
    for s in secs:
        assert (labels[int(s.start):int(s.end)] == s.label).all()
        assert (instances[int(s.start):int(s.end)] == s.instance).all()


def test_tempi_differ_per_kind(song):
    tempo = {s.kind: s.tempo_bpm for s in song.sections}
    assert tempo["drone"] == 0
    assert 90 <= tempo["kick_bass"] <= 110
    assert 110 <= tempo["melody"] <= 130
    assert 140 <= tempo["hihat_fast"] <= 160


def test_onsets_are_attacks(song):
    on = song.onsets
    assert (np.diff(on) > 0).all() and on[0] >= 0 and on[-1] < song.seconds
    x = song.pcm[:, 0].astype(float)
    n = int(0.01 * song.rate)
    louder = [np.sum(x[int(t * song.rate):int(t * song.rate) + n] ** 2)
              > 2 * np.sum(x[max(0, int(t * song.rate) - n):int(t * song.rate)] ** 2) for t in on]
    assert np.mean(louder) > 0.9


def test_onset_counts_per_section(song):
    for s in song.sections:
        inside = np.sum((song.onsets >= s.start) & (song.onsets < s.end))
        length = s.end - s.start
        if s.kind == "drone":
            assert inside == 1  # one attack, then a steady pad
        elif s.kind == "hihat_fast":
            assert inside / length >= 9  # the fast passage: sixteenths at 140-160 BPM
        elif s.kind == "kick_bass":
            assert 1.4 <= inside / length <= 1.9
        else:
            assert 3.5 <= inside / length <= 4.4


def test_melody_spans_c3_to_c6(song):
    midi = song.notes[:, 1]
    assert midi.min() == 48 and midi.max() == 84
    assert set(song.notes[:, 0]) <= set(song.onsets)
    assert synth.midi_hz(69) == 440.0 and synth.midi_hz(48) == pytest.approx(130.8128, rel=1e-5)


def test_instruments_sound_different(song):
    x = song.pcm[:, 0].astype(float)
    centroid = {}
    for s in song.sections:
        seg = x[int(s.start * song.rate):int(s.end * song.rate)]
        power = np.abs(np.fft.rfft(seg)) ** 2
        freqs = np.fft.rfftfreq(len(seg), 1 / song.rate)
        centroid.setdefault(s.kind, []).append(np.sum(power * freqs) / np.sum(power))
    c = {k: np.mean(v) for k, v in centroid.items()}
    assert c["kick_bass"] < 300 and c["drone"] < 400
    assert 400 < c["melody"] < 3000
    assert c["hihat_fast"] > 8000


# ---------------------------------------------------------------- the register song

@pytest.fixture(scope="module")
def melody():
    return synth.make_melody(3, seconds=20.0)


def test_melody_notes_span_three_balanced_octaves(melody):
    midi = melody.notes[:, 1]
    assert midi.min() >= synth.MELODY_LOW and midi.max() < synth.MELODY_HIGH
    counts = np.bincount((midi // 12).astype(int) - 1, minlength=6)[3:6]
    assert counts.min() > 0 and counts.max() - counts.min() <= 1   # dealt in shuffled rounds
    starts, durations = melody.notes[:, 0], melody.notes[:, 2]
    assert np.all(np.diff(starts) > 0)
    np.testing.assert_allclose(starts[1:], starts[:-1] + durations[:-1], atol=1.0 / melody.rate)
    np.testing.assert_array_equal(melody.onsets, starts)


def test_melody_pitch_is_where_the_notes_say(melody):
    """The strongest low partial of each note (its fundamental) is the note's frequency."""
    mono = melody.pcm.astype(float).mean(axis=1)
    rate = melody.rate
    for start, midi, dur in melody.notes[::7]:
        a = int((start + 0.1) * rate)
        seg = mono[a:a + 4096] * np.hanning(4096)
        spec = np.abs(np.fft.rfft(seg, 8 * 4096))
        freqs = np.fft.rfftfreq(8 * 4096, 1.0 / rate)
        f0 = synth.midi_hz(midi)
        band = (freqs > 0.9 * f0) & (freqs < 1.1 * f0)
        below = (freqs > 110) & (freqs < 0.8 * f0)   # above the drone (C2, G2), under the note
        assert spec[band].max() > 5 * (spec[below].max() if below.any() else 0.0)


def test_melody_deterministic_and_not_clipped():
    a, b = synth.make_melody(1, seconds=6.0), synth.make_melody(1, seconds=6.0)
    np.testing.assert_array_equal(a.pcm, b.pcm)
    assert 0 < np.abs(a.pcm).max() < 32767
