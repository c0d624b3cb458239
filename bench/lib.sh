# Shared by the benchmark scripts; source it.

# best CMD...: run CMD once to warm the caches, then $RUNS times (default
# 3), and print the best wall time in seconds. With $CLEAN set (a file),
# that file is removed and the file systems synced before each run,
# outside the timed part: replacing the last run's output is not part of
# what is measured.
best() {
	[ -z "${CLEAN:-}" ] || { rm -f "$CLEAN"; sync; }
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
	local b=""
	for _ in $(seq "${RUNS:-3}"); do
		local s e t
		[ -z "${CLEAN:-}" ] || { rm -f "$CLEAN"; sync; }
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	printf '%.3f' "$b"
}
