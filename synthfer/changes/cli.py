"""``synthfer changes``: what the next ``snakemake`` run would re-run, and why (from its own dry-run)."""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "changes",
        help="list exactly what the next snakemake run would re-run, and why",
        description="Run `snakemake --dry-run` (with the same profile, config and targets as a real run) and "
        "list the jobs it would run: first those a change triggers (params, code, set of inputs, newer "
        "inputs, missing outputs), then those that only follow from them. Use this instead of "
        "`snakemake --list-changes params`, which in Snakemake 9 also lists one output of every unchanged job.",
        epilog="examples:\n"
        "  synthfer changes\n"
        "  synthfer changes -- --configfile config/demo.yaml\n"
        "  synthfer changes --files -- --config select.keep=120",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--files", action="store_true", help="print only the output files that would be (re)written, one per line"
    )
    p.add_argument("--directory", "-d", default=None, help="run the dry-run in this working directory")
    p.add_argument(
        "snakemake_args",
        nargs="*",
        metavar="-- SNAKEMAKE_ARGS",
        help="after `--`: passed to snakemake unchanged (--configfile, --config, targets, --rerun-triggers …)",
    )
    p.set_defaults(func=_changes)


def _changes(args: argparse.Namespace) -> int:
    import sys

    from synthfer.changes import changed_outputs, format_report, planned_jobs

    try:
        jobs = planned_jobs(args.snakemake_args, cwd=args.directory)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.files:
        for path in changed_outputs(jobs):
            print(path)
    else:
        print(format_report(jobs))
    return 0
