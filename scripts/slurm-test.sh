#!/usr/bin/env bash
# Sharded extraction under a real Slurm: stands up a one-node cluster on this
# machine from Debian's packages (munge, slurmctld and slurmd as plain
# processes, proctrack/linuxproc, no cgroups), submits the README's
# `sbatch --array` job over a generated image set, merges the shard caches
# and checks that the merged cache equals a single-process extraction vector
# for vector. Then it cancels one array task mid-run, checks that the merge
# is now short, resubmits that task alone (it resumes from its shard's
# cache) and checks again. Everything it starts, it stops.
#
# Usage: scripts/slurm-test.sh [IMAGES]      (default 800 images)
# Needs root for the packages (apt-get) when they are not installed; without
# them, or when the cluster cannot start on the machine, it prints SKIP and
# why, and exits 0. SLURM_TEST_REQUIRE=1 turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
images=${1:-800}

skip() {
	echo "slurm-test: SKIP: $*"
	[ "${SLURM_TEST_REQUIRE:-0}" = 1 ] && exit 1
	exit 0
}
fail() {
	echo "slurm-test: FAIL: $*" >&2
	exit 1
}

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "slurm-test: installing slurm-wlm and munge"
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge ||
			{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge; }; } >/dev/null 2>&1 ||
			skip "apt-get could not install slurm-wlm and munge"
	else
		skip "slurmctld, slurmd and munged are not installed, and installing them needs root and apt-get"
	fi
fi
[ "$(id -u)" = 0 ] || skip "a one-node cluster from plain processes needs root (slurmd starts jobs as their user)"

work=$(mktemp -d /tmp/transfer-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
		scancel --quiet --name=transfer-extract 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${SLURM_TEST_KEEP:-0}" = 1 ]; then echo "slurm-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "slurm-test: building transfer and a generated MobileNetV2 with $images images in $work"
mkdir -p "$work/bin"
go build -o "$work/bin/transfer" ./cmd/transfer
go build -o "$work/bin/synth" ./internal/cmd/synth
export PATH="$work/bin:$PATH"
cd "$work"
synth model -flavour tf2onnx -o model.onnx
synth images -n "$images" -min 96 -max 320 -o photos >/dev/null

# munge: a fresh key and its own socket, so that nothing of the machine's
# is used or disturbed.
mkdir -p munge state spool logs out
chmod 711 munge
dd if=/dev/urandom of=munge/munge.key bs=1024 count=1 status=none
chmod 400 munge/munge.key
munged --force --foreground --key-file=munge/munge.key --socket="$work/munge/munge.socket" \
	--pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" --log-file="$work/munge/munged.log" \
	>logs/munged.out 2>&1 &
pids+=($!)

# slurmctld runs only on the host slurm.conf names as controller: this one,
# reached over loopback.
node=$(hostname -s)
cpus=$(nproc)
mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
cat >slurm.conf <<CONF
ClusterName=transfertest
SlurmctldHost=$node(127.0.0.1)
MailProg=/bin/true
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/logs/slurmctld.log
SlurmdLogFile=$work/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
MessageTimeout=10
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >logs/slurmctld.out 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$SLURM_CONF" >logs/slurmd.out 2>&1 &
pids+=($!)

up() { timeout 5 sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }
for _ in $(seq 60); do
	up && break
	sleep 0.5
done
# A cluster that cannot start here (no loopback, a hostname slurmd cannot
# match) says nothing of transfer: that is a skip, with the reason. Every
# failure after this point is transfer's.
up ||
	skip "the one-node cluster did not come up: $(timeout 5 sinfo -N 2>&1); $(tail -n 5 logs/slurmctld.log logs/slurmd.log 2>/dev/null)"
echo "slurm-test: cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"

# The README's job, examples/slurm/extract.sbatch, as it is.
cp "$repo/examples/slurm/extract.sbatch" .
shards=$(sed -n 's/^#SBATCH --array=0-\([0-9]*\)$/\1/p' extract.sbatch)
shards=$((shards + 1))
grep -q -- "--shard \"\$SLURM_ARRAY_TASK_ID/$shards\"" extract.sbatch || fail "extract.sbatch: its --shard count is not its array's size ($shards)"

# wait_job ID: wait until no task of the job is pending or running, then
# print each task's final state (scontrol keeps finished jobs for MinJobAge).
wait_job() {
	for _ in $(seq 600); do
		[ -z "$(timeout 10 squeue -h -j "$1" -o '%i' 2>/dev/null)" ] && break
		sleep 0.5
	done
	[ -z "$(timeout 10 squeue -h -j "$1" -o '%i')" ] || fail "job $1 still queued after 5 minutes: $(squeue -j "$1")"
	scontrol -o show job "$1" | sed -n 's/.*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\).*/\1 \2 \3/p' | sort -n
}

# compare DB: the merged cache's embeddings equal the single-process ones,
# vector for vector (the same .npy bytes, rows in the same image order).
compare() {
	rm -rf "export-$1"
	transfer cache export --model model.onnx --data photos --cache "$1" -o "export-$1" -q >/dev/null
	for f in single/*; do
		cmp -s "$f" "export-$1/$(basename "$f")" || fail "$1: $(basename "$f") differs from the single-process extraction"
	done
}

echo "slurm-test: single-process extraction for reference"
transfer extract --model model.onnx --data photos --cache single.db -q
transfer cache export --model model.onnx --data photos --cache single.db -o single -q >/dev/null

echo "slurm-test: sbatch --array=0-$((shards - 1))"
job=$(sbatch --parsable extract.sbatch)
states=$(wait_job "$job")
echo "$states" | sed 's/^/  task /'
[ "$(echo "$states" | grep -c ' COMPLETED 0:0$')" = "$shards" ] || fail "not every task completed: $states; $(cat logs/shard-*.log)"
transfer cache merge merged.db out/shard-*.db >/dev/null
compare merged.db
echo "slurm-test: merged cache of $shards shards equals the single-process extraction ($images vectors)"

echo "slurm-test: cancelling task 2 mid-run, then resubmitting it"
rm -rf out logs/shard-*.log merged.db && mkdir out
job=$(sbatch --parsable extract.sbatch)
for _ in $(seq 600); do
	state=$(timeout 10 squeue -h -j "${job}_2" -o '%T' 2>/dev/null || true)
	rows=0
	[ -f out/shard-2.db ] && rows=$(transfer cache stats --cache out/shard-2.db 2>/dev/null | sed -n 's/.*, \([0-9]*\) distinct images.*/\1/p')
	[ "$state" = RUNNING ] && [ "${rows:-0}" -ge 8 ] && break
	sleep 0.1
done
scancel "${job}_2"
states=$(wait_job "$job")
echo "$states" | sed 's/^/  task /'
echo "$states" | grep -q '^2 CANCELLED' || fail "task 2 was not cancelled mid-run: $states"
transfer cache merge merged.db out/shard-*.db >/dev/null
have=$(transfer cache stats --cache merged.db | sed -n 's/.*, \([0-9]*\) distinct images.*/\1/p')
[ "$have" -lt "$images" ] || fail "the merge after a cancelled task holds all $images images"
echo "slurm-test: after the cancel the merge holds $have of $images images"
job=$(sbatch --parsable --array=2 extract.sbatch)
states=$(wait_job "$job")
echo "$states" | sed 's/^/  task /'
echo "$states" | grep -q '^2 COMPLETED 0:0$' || fail "the resubmitted task failed: $states; $(cat logs/shard-2.log)"
grep -q '[1-9][0-9]* from cache' logs/shard-2.log || fail "the resubmitted task did not resume from its cache: $(cat logs/shard-2.log)"
echo "slurm-test: resubmitted task: $(grep 'from cache' logs/shard-2.log | tail -1)"
rm -f merged.db
transfer cache merge merged.db out/shard-*.db >/dev/null
compare merged.db
echo "slurm-test: PASS: after cancel and resubmit the merged cache again equals the single-process extraction"
