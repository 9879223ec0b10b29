#!/usr/bin/env bash
# supervise.sh COMMAND [ARGS...]: runs COMMAND the way make test-local and make test-aws need,
# so that SIGINT, SIGTERM and SIGHUP at any moment end the run with the same cleanup as a
# normal end:
#   - COMMAND runs in its own process group with a private TMPDIR and GOTMPDIR (every go-build*,
#     gexec_artifacts*, lambda-* and log file of the run lands there) that is removed at the end;
#   - the first signal becomes one SIGINT to that group (Ginkgo, go build and s3cli clean up on
#     SIGINT; SIGHUP is caught by nobody else, and a second signal would make Ginkgo skip its
#     cleanup), later signals only say that cleanup is under way;
#   - GRACE seconds after the first signal whatever is left of the group is SIGKILLed;
#   - S3CLI_PROGRESS names a file the command may append progress lines to; they are shown as
#     they come (Ginkgo's parallel processes have no terminal of their own).
# Files worth keeping (a crashed emulator's log) go to S3CLI_KEEP_DIR, the caller's TMPDIR.
# Exit status: COMMAND's, or 128+N after signal N.
# Reads: TMPDIR, GRACE (default 12; GitHub Actions sends SIGKILL 10 s after its SIGINT, so most
# cleanup must be done well before), S3CLI_KEEP_DIR.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
grace=${GRACE:-12}
keep=${TMPDIR:-/tmp}
run_tmp=$(mktemp -d "$keep/s3cli-run.XXXXXX")
export S3CLI_KEEP_DIR=${S3CLI_KEEP_DIR:-$keep}
export TMPDIR=$run_tmp GOTMPDIR=$run_tmp
export S3CLI_PROGRESS=$run_tmp/progress.log
: >"$S3CLI_PROGRESS"

say() { printf '[run] %s\n' "$*" >&2; }

signalled="" signal_at=0 child=""
# The handler only records and forwards: no subshell or timer process is forked from it (a
# signal landing during such a fork runs this handler in the child too).
# shellcheck disable=SC2317 # called from the traps below
on_signal() {
  local sig=$1
  if [[ -n $signalled ]]; then
    say "SIG$sig: still cleaning up after SIG$signalled ($((SECONDS - signal_at)) s ago; SIGKILL at ${grace} s)"
    # Not a bare return: in a trap it returns the status of the command the signal interrupted
    # (a `sleep` killed by it: 129), and set -e would then end this script before its cleanup.
    return 0
  fi
  signalled=$sig signal_at=$SECONDS
  say "SIG$sig: stopping the run (SIGINT to its processes; whatever is left after ${grace} s is killed)"
  if [[ -n $child ]]; then kill -INT -- "-$child" 2>/dev/null || true; fi
}
# Set before the command starts, so no signal finds this script without them.
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# set -m: background jobs get their own process group, so a signal to ours reaches this
# script only, and it decides what the command's group gets.
set -m
"$@" &
child=$!
tail -n +1 -f --pid="$child" "$S3CLI_PROGRESS" >&2 &
tailer=$!
set +m
# A signal that came while the command was being started is passed on now.
if [[ -n $signalled ]]; then kill -INT -- "-$child" 2>/dev/null || true; fi

# Until a signal, wait (a trapped signal interrupts it); after one, poll, so the grace
# period can be enforced.
rc=0
while kill -0 "$child" 2>/dev/null; do
  if [[ -z $signalled ]]; then
    rc=0
    wait "$child" || rc=$?
    continue
  fi
  if ((SECONDS - signal_at >= grace)); then
    say "still running ${grace} s after SIG$signalled: SIGKILL"
    kill -KILL -- "-$child" 2>/dev/null || true
  fi
  sleep 0.2 || true
done
rc=0
wait "$child" 2>/dev/null || rc=$?
# Children the command left in its group (it exited, they did not) go too: first SIGINT,
# then SIGKILL.
if kill -0 -- "-$child" 2>/dev/null; then
  kill -INT -- "-$child" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 -- "-$child" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 -- "-$child" 2>/dev/null; then
    say "killing processes the command left behind in its group"
    kill -KILL -- "-$child" 2>/dev/null || true
  fi
fi
wait "$tailer" 2>/dev/null || true
rm -rf "$run_tmp"
if [[ -n $signalled ]]; then
  say "stopped after SIG$signalled in $((SECONDS - signal_at)) s; temporary files removed ($run_tmp)"
  trap - "$signalled"
  case $signalled in
  INT) exit 130 ;;
  TERM) exit 143 ;;
  HUP) exit 129 ;;
  esac
fi
exit "$rc"
