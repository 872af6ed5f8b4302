"""A fresh interpreter's measurement for the memory and start-up sections.

Run by path (``python train/bench/child.py MODE key=value ...``, see
:func:`train.bench.fresh.run_child`), so it loads only numpy and LightShowPi's
``fft.py`` before it measures -- nothing of this package or the bench -- and the
plugin's imports are counted in full. Prints ``key=value`` lines.

Modes: ``import`` (the plugin's import time), ``startup`` (constructor to the
first level row), ``rss`` (peak and final resident size over a whole song).
"""
import os
import sys
import time

if __name__ == "__main__" and sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
    # run by path: its folder (the bench's modules) must not shadow top-level names
    del sys.path[0]

import numpy as np  # noqa: E402

#: LightShowPi's defaults after (chunk, rate): gpio_len 8, 20 Hz .. 15 kHz, no custom
#: mapping, stereo files (kept here: the bench imports it from this standalone module)
FFT_ARGS = (8, 20, 15000, 0, 0, 2, False)


def load_fft(p):
    """LightShowPi's ``py/fft.py`` of checkout ``p["checkout"]`` as module ``fft``."""
    import importlib.util
    if p.get("shims"):
        sys.path.append(p["shims"])
    spec = importlib.util.spec_from_file_location("fft", os.path.join(p["checkout"], "py", "fft.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fft"] = mod
    spec.loader.exec_module(mod)
    return mod


def plugin_class(base, p):
    """The class LightShowPi gets with the plugin enabled on ``p["model"]``."""
    from lightshowpi_autoencoder import host
    from lightshowpi_autoencoder.settings import Settings
    settings = Settings(enabled=True, model=p["model"], source="bench")
    return host.make_class(base, settings_reader=lambda: settings)


def status(key):
    """A ``/proc/self/status`` field in kB (VmRSS, VmHWM); -1 when absent."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def main(argv):
    mode = argv[0]
    p = dict(a.split("=", 1) for a in argv[1:])
    if mode == "import":
        load_fft(p)   # LightShowPi has its fft.py (and logging, configparser) loaded first
        t0 = time.perf_counter()
        import lightshowpi_autoencoder.host, lightshowpi_autoencoder.pipeline  # noqa: E401,F401
        if p["backend"] == "numpy":
            import lightshowpi_autoencoder.tflite_numpy  # noqa: F401
        elif p["backend"] == "litert":
            import ai_edge_litert.interpreter  # noqa: F401
        elif p["backend"] == "tflite_runtime":
            import tflite_runtime.interpreter  # noqa: F401
        print("import_s=%r" % (time.perf_counter() - t0))
        return 0
    mod = load_fft(p)
    pcm = np.load(p["pcm"])
    chunk = int(p["chunk"])
    args = (chunk, int(p["rate"])) + FFT_ARGS
    inst = None
    if mode == "startup":
        first = int(p["first"])
        data = pcm[first * chunk:(first + 1) * chunk].tobytes()
        t0 = time.perf_counter()
        cls = plugin_class(mod.FFT, p) if p["which"] == "plugin" else mod.FFT
        inst = cls(*args)
        inst.calculate_levels(data)
        print("startup_s=%r" % (time.perf_counter() - t0))
    elif mode == "rss":
        import gc
        gc.collect()
        try:  # reset the peak: loading the song is not the FFT's
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            print("hwm_reset=1")
        except OSError:
            print("hwm_reset=0")
        print("rss_before_kb=%d" % status("VmRSS"))
        inst = (plugin_class(mod.FFT, p) if p["which"] == "plugin" else mod.FFT)(*args)
        n = pcm.shape[0] // chunk
        for i in range(n):
            inst.calculate_levels(pcm[i * chunk:(i + 1) * chunk].tobytes())
        print("rss_after_kb=%d" % status("VmRSS"))
        print("hwm_kb=%d" % status("VmHWM"))
        print("chunks=%d" % n)
    print("state=%s" % getattr(inst, "_state", "lsp"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
