"""``python -I -S rss_wrapper.py RESULT_FILE CMD...``: runs CMD and writes
``"returncode maxrss_kb"`` to RESULT_FILE: the peak resident size of the largest
process of CMD's tree (RUSAGE_CHILDREN covers every descendant that was waited
for: run_lsp.sh -> lsp_run.py -> LightShowPi).

A small interpreter of its own, run by path: a child forked from the (large)
bench process would carry that process's resident size into its ru_maxrss.
"""
import resource
import subprocess
import sys

if __name__ == "__main__":
    rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)
    with open(sys.argv[1], "w") as fh:
        fh.write("%d %d" % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
