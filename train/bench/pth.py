"""Section 5: the ``.pth`` hook's cost in an unrelated interpreter.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Tuple

from .common import REPO, Section, Skip, diff, fmt, mark, median, passes
from .env import PROBE, Config, clean_env, run_captured


def section_pth(cfg: Config, sec: Section) -> None:
    pth_src = os.path.join(REPO, "lightshowpi_autoencoder.pth")
    if not os.path.isfile(pth_src):
        raise Skip("no lightshowpi_autoencoder.pth in %s" % REPO)
    venv = os.path.join(cfg.tmp, "pth-venv")
    base_python = getattr(sys, "_base_executable", sys.executable) or sys.executable
    r = run_captured([base_python, "-m", "venv", "--without-pip", venv], timeout=120, env=clean_env())
    if r.returncode != 0:
        raise Skip("cannot make a venv with %s -m venv (%s)" % (
            base_python, (r.stderr.strip().splitlines() or ["?"])[-1]))
    py = os.path.join(venv, "bin", "python")
    site_dir = run_captured([py, PROBE, "site"],
                    env=clean_env()).stdout.strip()
    # the repository on the path; sorted before the hook's .pth (site reads them in name order)
    with open(os.path.join(site_dir, "_lspai_repo_path.pth"), "w") as fh:
        fh.write(REPO + "\n")
    hook = os.path.join(site_dir, "lightshowpi_autoencoder.pth")
    parked = os.path.join(venv, "lightshowpi_autoencoder.pth.off")
    shutil.copyfile(pth_src, parked)
    home = cfg.forks()[0][1] if cfg.forks() else cfg.tmp

    def place(present: bool) -> None:
        if present and not os.path.exists(hook):
            os.replace(parked, hook)
        elif not present and os.path.exists(hook):
            os.replace(hook, parked)

    envs = {"unset": clean_env(PYTHONDONTWRITEBYTECODE="1"),
            "set": clean_env(PYTHONDONTWRITEBYTECODE="1", SYNCHRONIZED_LIGHTS_HOME=home)}
    # the hook really runs: with the variable set it registers its finder
    place(True)
    active = {k: run_captured([py, PROBE, "finder"], env=e).stdout.strip()
              for k, e in envs.items()}
    if active.get("set") != "True" or active.get("unset") != "False":
        place(False)
        raise RuntimeError("the hook did not behave as expected in the test venv (finder "
                           "registered: unset=%s, set=%s)" % (active.get("unset"), active.get("set")))
    # compile the repo's bytecode once, so no run pays for it
    run_captured([py, PROBE, "startup"], env=clean_env())
    states = [(present, env) for env in ("unset", "set") for present in (True, False)]
    times: Dict[Tuple[bool, str], List[float]] = {s: [] for s in states}
    for i in range(cfg.pth_runs + 5):
        order = states if i % 2 == 0 else list(reversed(states))
        for present, env in order:
            place(present)
            t0 = time.perf_counter_ns()
            subprocess.run([py, "-c", "pass"], env=envs[env], check=True)
            dt = time.perf_counter_ns() - t0
            if i >= 5:   # 5 warm-up rounds
                times[(present, env)].append(dt / 1e6)
    place(True)
    imptime = {}
    for env in ("unset", "set"):
        r = run_captured([py, "-X", "importtime", "-c", "pass"], env=envs[env])
        imptime[env] = [line for line in r.stderr.splitlines() if "lightshowpi" in line]
    place(False)
    sec.method.append(
        "A throw-away venv (`%s -m venv --without-pip`) with a path `.pth` pointing at this "
        "repository; `python -c pass` timed (wall, `perf_counter_ns` around the subprocess) "
        "%d times in each of four states, interleaved: `lightshowpi_autoencoder.pth` in or out "
        "of site-packages, `SYNCHRONIZED_LIGHTS_HOME` unset (any unrelated program) or set (the "
        "hook imports `lightshowpi_autoencoder.startup` and registers its finder). Checked: the "
        "finder is registered only when the variable is set." % (base_python, cfg.pth_runs))
    rows = []
    data = {}
    for env in ("unset", "set"):
        with_, without = median(times[(True, env)]), median(times[(False, env)])
        d = diff(with_, without)
        label = "SYNCHRONIZED_LIGHTS_HOME %s" % env
        if env == "unset":
            c = sec.check("pth_ms", label + " (unrelated interpreter)", d)
            result = mark(c.ok)
        else:
            result = "%s (for reference)" % mark(passes(d, "<=", 2.0))
        rows.append([label, fmt(without, 2), fmt(with_, 2), fmt(d, 2), result])
        data[env] = {"with_ms": times[(True, env)], "without_ms": times[(False, env)]}
    sec.table(["Environment", "Without .pth ms", "With .pth ms", "Added ms", "≤ 2 ms"], rows)
    for env in ("unset", "set"):
        lines = imptime[env]
        if lines:
            sec.notes.append("`python -X importtime -c pass`, variable %s, lines mentioning "
                             "lightshowpi (µs self | cumulative | module):" % env)
            sec.notes.append("```\n" + "\n".join(lines) + "\n```")
        else:
            sec.notes.append("`python -X importtime -c pass`, variable %s: no line mentions "
                             "lightshowpi (the hook imports nothing)." % env)
    data["importtime"] = imptime
    sec.data = data
