# The review stop (rules/seeds.smk): while the reviewed seed list is missing, rule all ends at the review
# material (default_targets) and the next step is printed once, at the end of the snakemake command.
import atexit

from snakemake_interface_executor_plugins.settings import ExecMode as _SeedsExecMode

_SEEDS_NOTICE = {"failed": False}


def _stopped_at_the_review():
    """Whether this command planned a run that ends at the review: a DAG was built (no error while parsing, e.g.
    a config error in a later rule file) and its targets need the review material (the default target does
    while the seed list is missing; a FER-only target such as config/london.yaml's does not)."""
    dag = workflow.dag
    return dag is not None and any(job.rule.name == "review_material" for job in dag.jobs)


def _print_seeds_missing_notice():
    """At the end of the snakemake command (dry-run, run, or nothing to be done), unless it failed or its
    targets never reached the review."""
    if not _SEEDS_NOTICE["failed"] and _stopped_at_the_review():
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
