"""LightShowPi plugin: a learned autoencoder drives the light channels.

Inside LightShowPi the plugin takes the place of ``fft.FFT.calculate_levels``:
chunk -> :mod:`features` -> :mod:`encoder` -> :mod:`levels` -> LightShowPi.
:mod:`host` is the FFT class LightShowPi gets; :mod:`startup` is the
``.pth`` hook that hands it over when ``overrides.cfg`` says so.

This module imports nothing heavy: the start-up hook imports the package in
every LightShowPi process.
"""
__version__ = "0.1.0"
