"""What the plugin checks of a ``.<song>.sync`` cache before vouching for it or trusting it.

LightShowPi writes the rows (``.<song>.sync``, ``numpy.savetxt``) and then
asks the FFT object to write ``.<song>.cfg``. When that second write fails
(a read-only or immutable file) the pair disagrees: new rows under the old
``.cfg``, which may name another model. So the plugin's ``.cfg`` records the
SHA-256 of the ``.sync`` it was written with, and a pair whose ``.sync`` no
longer has that digest is regenerated. A ``.sync`` holding NaN or Inf is
never trusted either (LightShowPi would light nothing from it).
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, NamedTuple, Optional, Tuple


class SyncState(NamedTuple):
    """A ``.sync`` file's SHA-256 (hex) and whether every number in it is finite."""

    sha256: str
    finite: bool


_memo: Dict[Tuple[str, int, int], SyncState] = {}


def inspect(path: str, fresh: bool = False) -> Optional[SyncState]:
    """The state of the ``.sync`` at ``path``, or None when it cannot be read.

    LightShowPi asks about a song's cache up to three times: a file whose size
    and modification time have not changed is read once, unless ``fresh`` (a
    file just written: savetxt rows are fixed-width, and a rewrite can fall in
    the same timestamp tick).
    """
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        if fresh or key not in _memo:
            with open(path, "rb") as fh:
                data = fh.read()
            low = data.lower()
            # numpy.savetxt writes nan, inf, -inf; loadtxt also reads NaN, Infinity
            _memo.clear()
            _memo[key] = SyncState(hashlib.sha256(data).hexdigest(),
                                   b"nan" not in low and b"inf" not in low)
        return _memo[key]
    except OSError:
        return None
