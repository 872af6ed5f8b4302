"""The whole-graph measurement (train/bench/whole_graph.py) times what it says it times: its
TFLite graph gives the shipped model's units for a chunk, as the runtime does."""
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")


def test_graph_computes_the_runtime_units_and_reports_every_figure(capsys):
    from lightshowpi_autoencoder import features as F
    from train.bench import whole_graph
    out = whole_graph.main(["--chunks", "100"])
    assert out["max_unit_difference"] < 1e-5
    frames = "rfft_%dx1024_us" % len(F.frame_starts(2048))      # the runtime's frames per chunk
    assert set(out) == {"runtime_us", "graph_us", "graph_over_runtime", "max_unit_difference",
                        frames, "rfft_1x2048_us"}
    assert all(v > 0 for k, v in out.items() if k.endswith("_us"))
    assert "graph_over_runtime" in capsys.readouterr().out
