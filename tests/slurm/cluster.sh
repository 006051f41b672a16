#!/usr/bin/env bash
# A throw-away single-node Slurm cluster (slurmctld + slurmd + munged) on localhost, with one fake GPU,
# for testing synthfer's slurm profile against real sbatch/squeue/scontrol. Needs root (Debian/Ubuntu).
#
#   tests/slurm/cluster.sh start DIR          install slurm-wlm + munge if missing, write DIR/slurm.conf and
#                                             DIR/gres.conf, start the daemons, wait until the node is idle
#   tests/slurm/cluster.sh stop DIR           cancel its jobs, stop every daemon `start` started (by PID, from
#                                             DIR/daemons.pid), remove the /etc/slurm links it made
#   tests/slurm/cluster.sh run DIR -- CMD...  start, run CMD with SLURM_CONF set, stop (also when CMD or start fails)
#   tests/slurm/cluster.sh check              exit 0 if a cluster can be made here, 3 if not (not root, no apt)
# Exit status of start/run: 3 = cannot be made here (not root, no apt), 4 = installing the packages failed.
#
# After `start`, use the cluster with `export SLURM_CONF=DIR/slurm.conf` (the config is also linked at
# /etc/slurm/, because Snakemake's jobstep plugin strips SLURM_* variables before its inner srun).
# The node has partitions `cpu` (default) and `gpu` (one GPU GRES backed by /dev/null: Slurm sets
# CUDA_VISIBLE_DEVICES, but there is no device). A TaskProlog appends one line per task to
# DIR/log/tasks.log — "job=<id> step=<step> CUDA_VISIBLE_DEVICES=<value|unset> SLURM_JOB_GPUS=…" — so tests
# can see what each job's processes saw without touching the workflow.
# There is no accounting database: `sacct` does not work; use `squeue` for status (MinJobAge=600 keeps
# finished jobs visible to squeue/scontrol for 10 minutes).
set -euo pipefail

SLURMCTLD_PORT=${SYNTHFER_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SYNTHFER_SLURMD_PORT:-6818}
ETC=/etc/slurm

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

can_make() {
    # 0: a cluster can be made here; 3: it cannot (reason on stderr).
    if [[ $(id -u) -ne 0 ]]; then echo "cluster.sh: needs root (daemons, /etc/slurm)" >&2; return 3; fi
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "cluster.sh: slurm-wlm/munge not installed and no apt-get to install them" >&2; return 3
    fi
    return 0
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # Exit 4: the packages could not be installed (no network to the Debian mirror, no apt lists).
    apt-get update -qq >&2 || { log "apt-get update failed"; exit 4; }
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2 || { log "apt-get install failed"; exit 4; }
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Daemons this script started, one "name pid" per line: only these are ever stopped.
record() { echo "$1 $2" >>"$DIR/daemons.pid"; }

wait_pidfile() {  # wait_pidfile FILE SECONDS -> prints the pid once the file names a live process
    local f=$1 t=$2 i pid
    for ((i = 0; i < t * 10; i++)); do
        if [[ -s $f ]]; then
            pid=$(<"$f")
            if pid_alive "$pid"; then echo "$pid"; return 0; fi
        fi
        sleep 0.1
    done
    return 1
}

write_config() {
    local node cpus boards sockets cores threads mem
    node=$(hostname -s)
    # `slurmd -C` prints this machine's real layout; the node must not claim more than it has.
    local probe
    probe=$(slurmd -C)
    probe=${probe%%$'\n'*}  # first line only (no `| head`: under pipefail a SIGPIPE would abort)
    field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$probe"; }
    cpus=$(field CPUs); boards=$(field Boards); sockets=$(field SocketsPerBoard)
    cores=$(field CoresPerSocket); threads=$(field ThreadsPerCore); mem=$(field RealMemory)
    [[ -n $cpus && -n $mem ]] || die "cannot parse 'slurmd -C': $probe"
    # The node claims at least 16 CPUs and 64 GB, so the slurm profile's real requests (8 CPUs and 32 GB for
    # GPU jobs) fit unchanged on a small CI machine; SlurmdParameters=config_overrides keeps slurmd from
    # draining a node that has less than it claims. Jobs then share the real cores (they are tiny here).
    if ((cpus < 16)); then cpus=16; boards=1; sockets=1; cores=16; threads=1; fi
    if ((mem < 65536)); then mem=65536; fi
    mkdir -p "$DIR"/{state,spool,log}
    cat >"$DIR/slurm.conf" <<CONF
# Written by tests/slurm/cluster.sh: a single-node test cluster (no accounting database).
ClusterName=synthfer-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$DIR/taskprolog.sh
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a per-CPU default every job gets the whole node's memory and jobs run one at a time.
DefMemPerCPU=1000
GresTypes=gpu
ReturnToService=2
SlurmdParameters=config_overrides
# Keep finished jobs visible to squeue/scontrol (Snakemake's squeue status check, the tests' checks).
MinJobAge=600
# Time limits are enforced by a periodic check; a short KillWait keeps time-limit tests short.
KillWait=10
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$mem Gres=gpu:1 State=UNKNOWN
# The profile sends CPU jobs to the default partition and GPU jobs to "gpu": both exist, on the one node.
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node Default=NO MaxTime=INFINITE State=UP
CONF
    # A GPU GRES needs a File=, or slurmd drops it ("Removing file-less GPU") and the node goes INVAL.
    echo "NodeName=$node Name=gpu Count=1 File=/dev/null" >"$DIR/gres.conf"
    cat >"$DIR/taskprolog.sh" <<PROLOG
#!/bin/sh
# Runs in each task's environment before the task starts; stdout is parsed by slurmstepd, so write to a file.
echo "job=\${SLURM_JOB_ID:-} step=\${SLURM_STEP_ID:-} CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES-unset} SLURM_JOB_GPUS=\${SLURM_JOB_GPUS-unset} SLURM_GPUS_ON_NODE=\${SLURM_GPUS_ON_NODE-unset}" >>"$DIR/log/tasks.log"
PROLOG
    chmod 755 "$DIR/taskprolog.sh"
    echo "$node" >"$DIR/nodename"
}

link_etc() {
    mkdir -p "$ETC"
    local f
    for f in slurm.conf gres.conf; do
        if [[ -e $ETC/$f || -L $ETC/$f ]]; then
            if [[ -L $ETC/$f && $(readlink "$ETC/$f") == "$DIR/$f" ]]; then continue; fi
            # A link into another test cluster's scratch folder whose daemons are gone is stale.
            if [[ -L $ETC/$f && ! -e $(readlink "$ETC/$f") ]]; then rm -f "$ETC/$f"; else
                die "$ETC/$f exists and is not ours: refusing to overwrite a real Slurm configuration"
            fi
        fi
        ln -s "$DIR/$f" "$ETC/$f"
        echo "$ETC/$f" >>"$DIR/etc_links"
    done
}

start_munge() {
    local pid
    if [[ -s /run/munge/munged.pid ]] && pid_alive "$(</run/munge/munged.pid)"; then
        log "munged already running (pid $(</run/munge/munged.pid)): using it, not stopping it later"
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key; else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    rm -f /run/munge/munged.pid
    # --force: start even if a stale socket from a killed munged is left behind.
    runuser -u munge -- /usr/sbin/munged --force
    pid=$(wait_pidfile /run/munge/munged.pid 10) || die "munged did not start"
    record munged "$pid"
    munge -n | unmunge >/dev/null || die "munge round trip failed"
}

start_daemons() {
    local pid node i state
    node=$(<"$DIR/nodename")
    export SLURM_CONF=$DIR/slurm.conf
    for i in $SLURMCTLD_PORT $SLURMD_PORT; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null; then die "port $i is already in use (another slurm?)"; fi
    done
    /usr/sbin/slurmctld -f "$SLURM_CONF"
    pid=$(wait_pidfile "$DIR/slurmctld.pid" 20) || die "slurmctld did not start: $(tail -5 "$DIR/log/slurmctld.log" 2>/dev/null)"
    record slurmctld "$pid"
    /usr/sbin/slurmd -f "$SLURM_CONF" -N "$node"
    pid=$(wait_pidfile "$DIR/slurmd.pid" 20) || die "slurmd did not start: $(tail -5 "$DIR/log/slurmd.log" 2>/dev/null)"
    record slurmd "$pid"
    for ((i = 0; i < 60; i++)); do
        state=$(sinfo -h -n "$node" -o %T 2>/dev/null | head -1 || true)
        case $state in
            idle) break ;;
            *drain* | *inval* | down*) scontrol update nodename="$node" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    [[ $state == idle ]] || die "node $node is '$state', not idle: $(tail -5 "$DIR/log/slurmctld.log")"
    log "cluster up: SLURM_CONF=$SLURM_CONF node=$node $(sinfo -h -o '%P:%G' | tr '\n' ' ')"
}

cmd_start() {
    can_make || exit 3
    install_packages
    [[ ! -s $DIR/daemons.pid ]] || die "$DIR/daemons.pid exists: stop that cluster first"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    : >"$DIR/daemons.pid"
    : >"$DIR/etc_links"
    # If anything below fails, stop what was started already.
    trap 'rc=$?; if [[ $rc -ne 0 ]]; then log "start failed (rc $rc): stopping"; cmd_stop || true; fi' EXIT
    write_config
    link_etc
    start_munge
    start_daemons
    trap - EXIT
    echo "export SLURM_CONF=$DIR/slurm.conf"
}

stop_pid() {  # stop_pid NAME PID: TERM, wait up to 15 s, then KILL
    local name=$1 pid=$2 i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do pid_alive "$pid" || { log "stopped $name ($pid)"; return 0; }; sleep 0.1; done
    log "$name ($pid) ignored SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
    [[ -d $DIR ]] || return 0
    DIR=$(cd "$DIR" && pwd)
    local name pid jobs link
    if [[ -s $DIR/daemons.pid ]] && grep -q '^slurmctld ' "$DIR/daemons.pid"; then
        # Cancel this cluster's jobs first, so no slurmstepd outlives slurmd.
        jobs=$(SLURM_CONF=$DIR/slurm.conf timeout 10 squeue -h -t PD,R,CG -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            SLURM_CONF=$DIR/slurm.conf timeout 10 scancel $jobs 2>/dev/null || true
            sleep 2
        fi
    fi
    if [[ -s $DIR/daemons.pid ]]; then
        # Reverse start order: slurmd, slurmctld, munged.
        while read -r name pid; do stop_pid "$name" "$pid"; done < <(tac "$DIR/daemons.pid")
    fi
    : >"$DIR/daemons.pid"
    if [[ -s $DIR/etc_links ]]; then
        while read -r link; do
            if [[ -L $link && $(readlink "$link") == "$DIR"/* ]]; then rm -f "$link"; fi
        done <"$DIR/etc_links"
        : >"$DIR/etc_links"
    fi
}

cmd_run() {
    local rc=0
    cmd_start >/dev/null
    trap 'cmd_stop' EXIT
    trap 'exit 130' INT TERM
    SLURM_CONF=$DIR/slurm.conf "$@" || rc=$?
    return $rc
}

case ${1:-} in
    check) can_make ;;
    start) [[ -n ${2:-} ]] || die "usage: $0 start DIR"; DIR=$2; cmd_start ;;
    stop) [[ -n ${2:-} ]] || die "usage: $0 stop DIR"; DIR=$2; cmd_stop ;;
    run)
        [[ -n ${2:-} && ${3:-} == -- && -n ${4:-} ]] || die "usage: $0 run DIR -- CMD..."
        DIR=$2; mkdir -p "$DIR"; shift 3; cmd_run "$@" ;;
    *) die "usage: $0 {check|start DIR|stop DIR|run DIR -- CMD...}" ;;
esac
