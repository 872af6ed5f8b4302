"""Training package: decode a music library into the runtime's own feature
frames, train the autoencoder, export the encoder for the runtime, evaluate,
plot, preview and report. Run it as ``python -m train --help``.

TensorFlow is imported only by the modules that train or export
(:mod:`train.model`, :mod:`train.export`), so the preview and the report work
with the runtime's dependencies plus matplotlib and soundfile.
"""
