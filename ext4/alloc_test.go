package ext4

import (
	"reflect"
	"testing"
)

// TestBumpRegions checks the two regions of the bump allocator: the clone
// region takes the first reserved free blocks and the main region the
// rest, each in ascending order across used runs, and a region that runs
// out goes on where the other one is.
func TestBumpRegions(t *testing.T) {
	// 100 blocks, used: [0,10) [30,40) [70,75).
	u := &usedSet{total: 100}
	u.mark(0, 10)
	u.mark(30, 10)
	u.mark(70, 5)
	a := newBump(u, 25) // clone region: [10,30) [40,45); main: [45,70) [75,100)
	get := func(region int, n uint64) []span {
		t.Helper()
		r, ok := a.allocIn(region, n)
		if !ok {
			t.Fatalf("allocIn(%d, %d): full", region, n)
		}
		return r
	}
	if r := get(mainRegion, 30); !reflect.DeepEqual(r, []span{{45, 25}, {75, 5}}) {
		t.Errorf("main: %v", r)
	}
	if r := get(cloneRegion, 22); !reflect.DeepEqual(r, []span{{10, 20}, {40, 2}}) {
		t.Errorf("clone: %v", r)
	}
	if r := get(mainRegion, 20); !reflect.DeepEqual(r, []span{{80, 20}}) {
		t.Errorf("main, to the end: %v", r)
	}
	// The main region is full: it goes on in the clone region, and both
	// share that position from now on.
	if r := get(mainRegion, 2); !reflect.DeepEqual(r, []span{{42, 2}}) {
		t.Errorf("main after overflow: %v", r)
	}
	if r := get(cloneRegion, 1); !reflect.DeepEqual(r, []span{{44, 1}}) {
		t.Errorf("clone after overflow: %v", r)
	}
	if _, ok := a.allocIn(mainRegion, 1); ok {
		t.Error("allocation from a full file system succeeded")
	}
	want := []span{{10, 20}, {40, 30}, {75, 25}}
	if got := a.taken(); !reflect.DeepEqual(got, want) {
		t.Errorf("taken = %v, want %v", got, want)
	}

	// A clone region that overflows goes on in the main one.
	a = newBump(u, 5)
	if r := get(cloneRegion, 8); !reflect.DeepEqual(r, []span{{10, 8}}) {
		t.Errorf("clone overflow: %v", r)
	}
	if r := get(mainRegion, 1); !reflect.DeepEqual(r, []span{{18, 1}}) {
		t.Errorf("main after clone overflow: %v", r)
	}

	// No reserve: one region, as a plain bump allocator.
	a = newBump(u, 0)
	if r := get(mainRegion, 21); !reflect.DeepEqual(r, []span{{10, 20}, {40, 1}}) {
		t.Errorf("no reserve: %v", r)
	}
}
