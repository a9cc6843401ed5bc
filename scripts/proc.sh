# proc.sh — process helpers sourced by cluster.sh and chaos.sh, so the two
# scripts agree on what "running" means.
#
# running PID: the process exists and is not a zombie (a killed agent whose
# parent has exited stays a zombie until init reaps it). One look, from ps:
# with a kill -0 before the ps, a process reaped between the two read as
# running (an empty state is not Z), which failed a restart now and then.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null | cut -c1); [ -n "$s" ] && [ "$s" != Z ]; }

# pid_of I: agent I's recorded pid (empty when none); alive I: it runs.
# Both read the cluster's directory, $DIR, set by the sourcing script.
pid_of() { cat "$DIR/node$1.pid" 2>/dev/null || true; }
alive()  { local p; p=$(pid_of "$1"); [ -n "$p" ] && running "$p"; }
