"""Encoder activations -> levels on LightShowPi's scale.

LightShowPi turns a level row into brightness with per-channel mean and std,
and before it has statistics (first play without a cache, the start of
audio-in) it assumes mean 12 and std 1.5 for every channel; ``save_cache``
keeps only positive values. So each channel's activation ``z`` is
standardised with the training statistics and put on that scale:

    level = 12 + 1.5 * clip((z - mean) / std, -Z_CLIP, Z_CLIP)

which stays in [3, 21]: always positive, and right on the very first play.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

HOST_MEAN = 12.0
HOST_STD = 1.5
Z_CLIP = 6.0

Mapping = Union[int, Sequence[int]]


class Calibration:
    """Per-channel affine map of activations ``(channels,)`` to levels ``(channels,)``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        std = np.asarray(std, dtype=np.float32)
        if self.mean.shape != std.shape or np.any(~np.isfinite(std)) or np.any(std <= 0):
            raise ValueError("calibration needs finite positive std per channel")
        self.scale = np.float32(1.0) / std
        # 12 + 1.5 * clip((z - mean) / std, -6, 6) as one multiply-add and one clip to [3, 21]
        self._gain = (HOST_STD * self.scale).astype(np.float32)
        self._offset = (HOST_MEAN - HOST_STD * self.mean * self.scale).astype(np.float32)
        self.low = np.float32(HOST_MEAN - HOST_STD * Z_CLIP)
        self.high = np.float32(HOST_MEAN + HOST_STD * Z_CLIP)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """float32 activations ``(channels,)`` -> float32 levels ``(channels,)`` in [3, 21]."""
        row = z * self._gain
        row += self._offset
        np.maximum(row, self.low, out=row)
        np.minimum(row, self.high, out=row)
        return row


def encoder_width(num_bins: int, custom_channel_mapping: Mapping) -> int:
    """How many encoder channels LightShowPi's mapping stage asks for.

    ``num_bins`` is ``gpio_len``; with a ``custom_channel_mapping`` of that
    length (e.g. 1,2,3,4,4,3,2,1) it is the mapping's highest entry, as in
    LightShowPi's own ``calculate_channel_frequency``.
    """
    if pin_mapping(num_bins, custom_channel_mapping) is None:
        return int(num_bins)
    return int(max(custom_channel_mapping))  # type: ignore[arg-type]


def pin_mapping(num_bins: int, custom_channel_mapping: Mapping):
    """Index array ``(num_bins,)`` choosing each pin's encoder channel, or ``None`` (identity)."""
    if custom_channel_mapping == 0 or custom_channel_mapping is None:
        return None
    try:
        mapping = [int(c) for c in custom_channel_mapping]  # type: ignore[union-attr]
    except TypeError:
        return None
    if len(mapping) != num_bins:
        return None
    return np.asarray(mapping, dtype=np.intp) - 1
