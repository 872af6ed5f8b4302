"""``python -m train COMMAND``: fit, evaluate, plot, preview, report, crossval, bench.

Each command lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``; modules are imported only when their command runs,
so ``preview`` and ``report`` never import TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import List, Optional

COMMANDS = {
    "fit": ("train.fit", "train a model on songs and export it for the runtime"),
    "evaluate": ("train.evaluate", "score a model on songs (reconstruction loss, channel use)"),
    "plot": ("train.plots", "draw a song's spectrogram, reconstruction and channel activations"),
    "preview": ("train.show.preview", "see the light show of a song: encoder vs LightShowPi's buckets"),
    "report": ("train.show.report", "show-quality table for many songs and methods"),
    "crossval": ("train.crossval", "show-quality table with every song held out (trains per fold)"),
    "harness": ("train.harness", "the show in the real LightShowPi (both forks), scored"),
    "bench": ("train.bench.command", "runtime and training benchmarks as a markdown table"),
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        # arguments are added lazily: parse the command name first
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser.print_help() if not argv or argv[0] in ("-h", "--help") else parser.parse_args(argv)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    cmd = argparse.ArgumentParser(prog="python -m train " + argv[0],
                                  description=COMMANDS[argv[0]][1])
    cmd.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(cmd)
    args = cmd.parse_args(argv[1:])
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return int(module.run(args) or 0)
