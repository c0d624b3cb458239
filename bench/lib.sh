# Shared by the benchmark scripts; source it.

# best CMD...: run CMD once to warm the caches, then $RUNS times (default
# 3), and print the best wall time in seconds.
best() {
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
	local b=""
	for _ in $(seq "${RUNS:-3}"); do
		local s e t
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	printf '%.3f' "$b"
}
