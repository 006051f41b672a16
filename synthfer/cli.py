"""``synthfer <verb>``: what a person runs outside the DAG.

Each phase that offers commands has a ``synthfer.<phase>.cli`` module with
``add_commands(subparsers)``; a command's handler is stored as ``func`` on its parser and receives
the parsed arguments. Phase modules are imported lazily so ``synthfer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Phases that contribute sub-commands (module synthfer.<name>.cli).
COMMAND_MODULES = ("gan", "latent", "fer", "demo", "changes")


def build_parser() -> argparse.ArgumentParser:
    from synthfer import __version__

    parser = argparse.ArgumentParser(prog="synthfer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"synthfer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMAND_MODULES:  # a missing module is a broken install: fail loudly (ModuleNotFoundError)
        importlib.import_module(f"synthfer.{name}.cli").add_commands(sub)
    return parser


def main(argv: list[str] | None = None, catch: bool | None = None) -> int:
    """Run one command. ``catch`` (default: when ``argv`` is None, i.e. the ``synthfer`` console command):
    an error becomes one line ``error: <message>`` on stderr and exit status 1, never a traceback (set
    ``SYNTHFER_TRACEBACK=1`` to see it). Called with ``argv`` (from Python, in tests) errors propagate."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from synthfer.logs import log_to

    log_to(getattr(args, "log", None))
    if catch is None:
        catch = argv is None
    if not catch or os.environ.get("SYNTHFER_TRACEBACK"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:  # noqa: BLE001 — a person reads this: the message, not the traceback
        print(f"error: {exc or type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
