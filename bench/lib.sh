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

# farm "A" "B": A against B with farm-bench, paired (A B A B ...), $RUNS
# pairs after one warm-up each; A and B are shell command lines (no
# single quotes in B). Prints "A-median B-median A/B-median A-peak-MiB":
# medians of the wall times, of the ratios taken pair by pair, and of A's
# peak memory. Each command overwrites its output: that is timed, for
# both alike.
farm() {
	local out
	out=$(farm-bench -n "$RUNS" --timeout "${FARM_TIMEOUT:-1800}" --vs "sh -c '$2'" -- sh -c "$1" 2>&1) || {
		echo "farm-bench failed: $out" >&2
		return 1
	}
	echo "$out" | awk '
		$1 == "A" && $2 == "wall" { a = $5 }
		$1 == "B" && $2 == "wall" { b = $5 }
		$1 == "A/B" && $2 == "wall" { r = $4 }
		$1 == "A" && $2 == "peak" { p = $5 }
		END { if (r == "") exit 1; printf "%s %s %s %s\n", a, b, r, p }'
}

# have_farm: farm-bench is installed and not disabled with FARM=0.
have_farm() { [ "${FARM:-1}" = 1 ] && command -v farm-bench >/dev/null; }

# fresh "A" "B" OUT_A OUT_B: A and B in turn, $RUNS pairs after one
# warm-up each, every run writing a new output: OUT_A or OUT_B is removed
# and the file systems synced before each run, outside the timed part.
# Prints "A-median B-median A/B-median", the ratio taken pair by pair.
fresh() {
	local a=$1 b=$2 oa=$3 ob=$4 i ta tb
	local as=() bs=() rs=()
	for i in $(seq 0 "$RUNS"); do
		ta=$(anew "$a" "$oa" "$ob") && tb=$(anew "$b" "$oa" "$ob") || return 1
		[ "$i" = 0 ] && continue # the warm-up
		as+=("$ta") bs+=("$tb") rs+=("$(echo "$ta / $tb" | bc -l)")
	done
	printf '%s %s %s\n' "$(median "${as[@]}")" "$(median "${bs[@]}")" "$(median "${rs[@]}")"
}

# anew CMD FILE...: removes the FILEs and syncs, untimed, then runs the
# shell command line CMD and prints its wall time in seconds.
anew() {
	local s e
	rm -f "${@:2}"
	sync
	s=$(date +%s.%N)
	sh -c "$1" >/dev/null 2>&1 || { echo "failed: $1" >&2; return 1; }
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}

# median N...: the median of the numbers (the lower middle one of an even
# count), to three decimals.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'
}
