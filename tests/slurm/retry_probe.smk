# Test-only rule for tests/test_slurm.py, included next to the real workflow by the test's own Snakefile
# (`include: "Snakefile"` + `include: "tests/slurm/retry_probe.smk"`); never part of the shipped DAG.
# It fails on its first attempt and succeeds on the next, so the test can watch Slurm run a failed job,
# Snakemake notice the failure through the profile's status checks, and resubmit it (profile `retries`).


rule slurm_retry_probe:
    input:
        # Runs after a real cluster job, so it is scheduled while the workflow is busy.
        "results/faces/real_manifest.csv",
    output:
        "results/slurm_test/retry_probe.txt",
    log:
        "logs/slurm_retry_probe/slurm_retry_probe.log",
    resources:
        # Snakemake numbers attempts from 1; the resubmitted job sees 2.
        attempt=lambda wildcards, attempt: attempt,
        runtime=5,
        mem_mb=500,
    shell:
        """
        echo "attempt {resources.attempt} job ${{SLURM_JOB_ID:-none}} on $(hostname)" >> {log}
        if [ {resources.attempt} -lt 2 ]; then echo "failing the first attempt on purpose" >&2; exit 1; fi
        echo "attempt {resources.attempt} job ${{SLURM_JOB_ID:-none}}" > {output}
        """
