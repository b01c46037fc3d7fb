#!/bin/sh
# Prepare a Debian 12 machine to build and test sbx: packages, container
# engine config, a running dockerd, and the local test images.
# Idempotent; run as root. Arguments are passed on to tests/lib/mkimage.sh
# (e.g. -f to rebuild the images).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

pkgs="podman runc catatonit tini docker.io busybox-static libinih-dev
pkg-config make gcc clang jq mandoc ca-certificates uidmap
build-essential dpkg-dev debhelper lintian man-db file valgrind
libclang-rt-14-dev llvm git patch diffutils python3 slurm-wlm munge
runsc"

# 1. packages; skipped when all are installed, to keep reruns fast
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	log "packages already installed"
else
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Keep docker.io's maintainer script from starting dockerd with its
	# default bridge network: we start it ourselves below, network-less.
	policy=/usr/sbin/policy-rc.d
	ours=0
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' >$policy
		chmod 755 $policy
		ours=1
		# don't leave it behind if we are interrupted
		trap 'rm -f $policy' EXIT
		trap 'exit 130' INT TERM
	fi
	# apt's chatter goes to a log, shown only if it fails
	aptlog=/var/log/sbx-setup-apt.log
	rc=0
	# shellcheck disable=SC2086
	{
		apt-get -q update &&
			apt-get install -q -y --no-install-recommends $missing
	} >$aptlog 2>&1 || rc=$?
	if [ $ours = 1 ]; then
		rm -f $policy
		trap - EXIT INT TERM
	fi
	if [ $rc != 0 ]; then
		tail -n 30 $aptlog >&2
		die "package installation failed (see $aptlog)"
	fi
fi

# 2. podman config. podman's default ulimits exceed this machine's hard
# limits (and any --ulimit replaces the whole default list, so both are
# set); crun fails on hybrid cgroups here, so use runc.
conf=/etc/containers/containers.conf
if [ -f $conf ] &&
	grep -q '^default_ulimits = \["nofile=1024:1024", "nproc=1024:1024"\]' $conf &&
	grep -q '^runtime = "runc"' $conf; then
	log "$conf already configured"
else
	# Merging TOML tables with sed is fragile: keep a copy of any other
	# file and write ours whole.
	if [ -s $conf ]; then
		cp $conf "$conf.sbx-bak.$(date +%Y%m%d%H%M%S)"
		log "backed up $conf, writing ours"
	else
		log "writing $conf"
	fi
	mkdir -p /etc/containers
	cat >$conf <<-'EOF'
		# written by sbx tests/lib/setup-debian.sh
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

		[engine]
		runtime = "runc"
	EOF
fi

# 3. dockerd, without any network: no bridge, no iptables rules; with
# gVisor's runsc as a runtime, whose flags docker cannot pass per run:
# they are the runtime's runtimeArgs here (sbx checks them, see
# oci_runtime_flags in sbx.ini(5)).  Any other daemon.json is merged.
docker_ok() { timeout 20 docker info >/dev/null 2>&1; }
dj=/etc/docker/daemon.json
runsc='{"path":"/usr/bin/runsc","runtimeArgs":["--network=none","--host-fifo=open","--host-uds=open"]}'
reload=0
if [ -s $dj ] && jq -e --argjson r "$runsc" '.runtimes.runsc == $r' $dj >/dev/null 2>&1; then
	log "$dj already registers runsc"
else
	mkdir -p /etc/docker
	if [ -s $dj ]; then
		bak="$dj.sbx-bak.$(date +%Y%m%d%H%M%S)"
		cp $dj "$bak"
		jq --argjson r "$runsc" '.runtimes.runsc = $r' "$bak" \
			>"$dj.new" || die "$dj: not JSON that jq can read"
	else
		jq -n --argjson r "$runsc" '{runtimes: {runsc: $r}}' >"$dj.new"
	fi
	mv "$dj.new" $dj
	log "registered runsc in $dj"
	reload=1
fi
if docker_ok; then
	log "dockerd already running"
	# dockerd reads its runtimes again on SIGHUP
	if [ $reload = 1 ] && [ -s /var/run/docker.pid ]; then
		kill -HUP "$(cat /var/run/docker.pid)"
		sleep 1
	fi
else
	[ -x /usr/sbin/dockerd ] || die "/usr/sbin/dockerd missing"
	log "starting dockerd (log: /var/log/sbx-dockerd.log)"
	nohup setsid /usr/sbin/dockerd --bridge=none --iptables=false \
		>>/var/log/sbx-dockerd.log 2>&1 </dev/null &
	t0=$(date +%s)
	until docker_ok; do
		if [ $(($(date +%s) - t0)) -ge 60 ]; then
			tail -n 20 /var/log/sbx-dockerd.log >&2 || true
			die "dockerd did not answer within 60 s"
		fi
		sleep 1
	done
	log "dockerd is up after $(($(date +%s) - t0)) s"
fi

# 4. a single-node Slurm on localhost, for sbx batch --slurm: munged,
# slurmctld and slurmd, started here (no init system runs them).
# proctrack/linuxproc and task/none need no cgroup setup; the scheduler
# parameters start an array's tasks without the default 3 s cadence.
slurm_ok() { timeout 10 sinfo -h -o %T 2>/dev/null | grep -qx idle; }
if slurm_ok; then
	log "slurm already running"
else
	log "starting munged, slurmctld and slurmd (logs: /var/log/sbx-slurm*.log)"
	conf=/etc/slurm/slurm.conf
	cat >$conf <<-EOF
		# written by sbx tests/lib/setup-debian.sh: one node, localhost
		ClusterName=sbx
		SlurmctldHost=localhost
		SlurmUser=root
		AuthType=auth/munge
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_CPU
		SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
		ReturnToService=2
		MpiDefault=none
		StateSaveLocation=/var/spool/slurmctld
		SlurmdSpoolDir=/var/spool/slurmd
		SlurmctldPidFile=/run/slurmctld.pid
		SlurmdPidFile=/run/slurmd.pid
		SlurmctldLogFile=/var/log/sbx-slurmctld.log
		SlurmdLogFile=/var/log/sbx-slurmd.log
		NodeName=localhost CPUs=$(nproc) State=UNKNOWN
		PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
	EOF
	mkdir -p /var/spool/slurmctld /var/spool/slurmd /run/munge /var/log/munge
	chown munge:munge /run/munge /var/log/munge
	[ -s /etc/munge/munge.key ] || {
		dd if=/dev/urandom bs=128 count=1 2>/dev/null >/etc/munge/munge.key
		chown munge:munge /etc/munge/munge.key
		chmod 400 /etc/munge/munge.key
	}
	pgrep -x munged >/dev/null ||
		runuser -u munge -- /usr/sbin/munged ||
		die "munged did not start"
	pkill -x slurmctld 2>/dev/null || true
	pkill -x slurmd 2>/dev/null || true
	sleep 0.2
	/usr/sbin/slurmctld || die "slurmctld did not start"
	/usr/sbin/slurmd || die "slurmd did not start"
	t0=$(date +%s)
	until slurm_ok; do
		if [ $(($(date +%s) - t0)) -ge 30 ]; then
			tail -n 20 /var/log/sbx-slurmctld.log /var/log/sbx-slurmd.log >&2 || true
			die "slurm's node was not idle within 30 s"
		fi
		sleep 0.2
	done
	log "slurm is up after $(($(date +%s) - t0)) s"
fi

# 5. test images
log "building and importing images"
"$here/mkimage.sh" "$@" || die "mkimage.sh failed"
log "done"
