"""``python -m train bench``: runtime and training benchmarks as one markdown table.

    python -m train bench [--lsp-ez DIR] [--lsp-neo DIR] [--harness DIR] [--harness-venv DIR]
                          [--songs ...] [--chunks N] [--skip-training] [--out out/]

writes ``OUT/bench.md`` (and the raw numbers as ``OUT/bench.json``) and prints
the markdown. Sections, each measured only when what it needs is there and
otherwise reported as ``skipped: <reason>``:

1. per-chunk cost of the plugin's ``calculate_levels`` against LightShowPi's
   own numpy ``calculate_levels`` (the checkout's real ``py/fft.py``), on the
   same chunks in one process, interleaved, per chunk size and backend, with a
   breakdown of where the plugin's time goes;
2. whole ``--createcache`` wall time with and without the plugin, through the
   LightShowPi harness (``run_lsp.sh``), both forks, runs interleaved;
3. added resident memory (peak RSS of the LightShowPi process from those runs,
   and of two fresh interpreters processing a song);
4. added start-up time (FFT construction to first level row, plus the import
   time of the plugin in a fresh interpreter);
5. the ``.pth`` hook's cost in an unrelated interpreter (a throw-away venv with
   and without the hook);
6. feature extraction speed (x real time) over the songs;
7. training time of the default model (``python -m train fit``).

No number here is a test: timings depend on the machine, so the file records
the machine, the versions and the command next to them.

Modules: :mod:`~train.bench.command` (the command: options, sections in order,
bench.md/.json), :mod:`~train.bench.common` (targets, formatting, the report
model), :mod:`~train.bench.env` (checkouts, harness, songs, model, machine), one
module per section (``per_chunk``, ``createcache``, ``memory``, ``startup``,
``pth``, ``training``), and the scripts other interpreters run:
:mod:`~train.bench.child` and :mod:`~train.bench.fresh` (fresh interpreters),
:mod:`~train.bench.rss_wrapper` and :mod:`~train.bench.pin_decoder` (the
createcache runs). Nothing is imported here, so ``python -m
train.bench.per_chunk`` in the harness venv loads only what it needs.
"""
