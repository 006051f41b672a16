"""``synthfer <verb>``: what a person runs outside the DAG.

Each phase that offers commands has a ``synthfer.<phase>.cli`` module with
``add_commands(subparsers)``; a command's handler is stored as ``func`` on its parser and receives
the parsed arguments. Phase modules are imported lazily so ``synthfer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Phases that contribute sub-commands (module synthfer.<name>.cli).
COMMAND_MODULES = ("gan", "latent", "fer", "demo", "changes")


def build_parser() -> argparse.ArgumentParser:
    from synthfer import __version__

    parser = argparse.ArgumentParser(prog="synthfer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"synthfer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"synthfer.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"synthfer.{name}.cli" and exc.name != f"synthfer.{name}":
                raise
            continue
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from synthfer.logs import log_to

    log_to(getattr(args, "log", None))
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
