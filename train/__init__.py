"""Training package: decode a music library into the runtime's own feature
frames, train the autoencoder, export the encoder for the runtime, evaluate,
plot, cross-validate. Run it as ``python -m train --help``.

The layout is the architecture; imports flow one way:

* :mod:`lightshowpi_autoencoder`, the runtime, imports nothing of this package;
* :mod:`train.show`, the show evaluation (LightShowPi's rules, the baselines,
  synthetic songs, the metrics, the preview and the report), imports only the
  runtime, so it runs with the ``preview`` extra and without TensorFlow;
* this package (``data``, ``model``, ``export``, ``fit``, ``select``,
  ``evaluate``, ``plots``, ``crossval``, ``harness``) builds on both;
  TensorFlow is imported only by the modules that train or export
  (:mod:`train.model`, :mod:`train.export`);
* :mod:`train.bench`, the benchmark, sits on top.

tests/test_layout.py checks these directions from the source.
"""
