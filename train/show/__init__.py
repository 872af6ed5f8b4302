"""The show evaluation, without TensorFlow: LightShowPi's own rules
(:mod:`~train.show.lightshow`), the baselines and the encoder's show
(:mod:`~train.show.methods`), synthetic songs, the show-quality metrics, the
preview PNG/MP4 and the report.

Imports flow one way: the runtime (:mod:`lightshowpi_autoencoder`) <- this
package <- training (:mod:`train`). Nothing here imports a module of
:mod:`train` outside ``train.show`` (tests/test_layout.py checks it), so
``pip install .[preview]`` runs ``python -m train preview`` and ``report``.
"""
