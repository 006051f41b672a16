# The review stop (rules/seeds.smk): while the reviewed seed list is missing, rule all ends at the review
# material (default_targets) and the next step is printed once, at the end of the snakemake command.
import atexit

from snakemake_interface_executor_plugins.settings import ExecMode as _SeedsExecMode

_SEEDS_NOTICE = {"failed": False}


def _print_seeds_missing_notice():
    """At the end of the snakemake command (dry-run, run, or nothing to be done), unless it failed."""
    if not _SEEDS_NOTICE["failed"]:
        print(f"\n{SEEDS_MISSING_MESSAGE}", file=sys.stderr, flush=True)


def default_targets():
    """The default target's inputs: every phase's targets, or (seed list missing) only those before the review."""
    if SEEDS_READY:
        return all_targets()
    return [path for phase in PHASES_BEFORE_REVIEW for path in TARGETS.get(phase, [])]


# Said once, last, by the main snakemake process only (jobs re-read this file in subprocesses): Snakemake's
# own hooks cannot do it, as onsuccess is skipped by dry-runs and by runs with nothing to do.
if not SEEDS_READY and workflow.exec_mode == _SeedsExecMode.DEFAULT:
    atexit.register(_print_seeds_missing_notice)


onerror:
    _SEEDS_NOTICE["failed"] = True
