package ext4

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// TestLateTimes: an epoch past 2106 keeps its upper bits in the
// superblock's _hi bytes and the inodes' epoch bits; file times past
// what e2fsck reads back are clamped to MaxEpoch, and an epoch ext4
// cannot store is refused.
func TestLateTimes(t *testing.T) {
	late := file([]byte("late"))
	late.Mtime = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	late.Atime = late.Mtime
	root := dir(tree.Entry{Name: "late", Node: late})
	for _, e := range []int64{-1, MaxEpoch + 1, 1 << 40} {
		opts := Options{Size: 16 << 20, Epoch: e, HasEpoch: true}
		if err := Check(root, opts); !errors.Is(err, ErrEpoch) {
			t.Errorf("Check with epoch %d: %v, want ErrEpoch", e, err)
		}
		if err := Write(discard{}, root, opts); !errors.Is(err, ErrEpoch) {
			t.Errorf("Write with epoch %d: %v, want ErrEpoch", e, err)
		}
	}

	// No epoch: the year-3000 time is clamped, not wrapped.
	img := build(t, root, Options{Size: 16 << 20})
	mnt := oracle.Mount(t, img, 0, "ext4")
	var st unix.Stat_t
	if err := unix.Stat(mnt+"/late", &st); err != nil {
		t.Fatal(err)
	}
	if st.Mtim.Sec != MaxEpoch {
		t.Errorf("/late: mtime %d, want %d", st.Mtim.Sec, int64(MaxEpoch))
	}

	const epoch = 1 << 32
	img = build(t, root, Options{Size: 16 << 20, Epoch: epoch, HasEpoch: true})
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	sb := b[1024:2048]
	for _, f := range []struct {
		name   string
		lo, hi int
	}{{"s_wtime", 0x30, 0x275}, {"s_lastcheck", 0x40, 0x277}, {"s_mkfs_time", 0x108, 0x276}} {
		if got := int64(le.Uint32(sb[f.lo:])) | int64(sb[f.hi])<<32; got != epoch {
			t.Errorf("%s = %d, want %d", f.name, got, int64(epoch))
		}
	}
	if sb[0x274] != 0 || le.Uint32(sb[0x2C:]) != 0 {
		t.Error("s_mtime set on a file system never mounted")
	}
	out := oracle.Debugfs(t, img, 0, "stat /late")
	if !strings.Contains(out, "mtime: 0x00000000:00000001") || !strings.Contains(out, "2106") {
		t.Errorf("/late: want the epoch 2^32 (2106):\n%s", out)
	}
	mnt = oracle.Mount(t, img, 0, "ext4")
	for _, p := range []string{"/late", "/lost+found"} {
		if err := unix.Stat(mnt+p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mtim.Sec != epoch || st.Atim.Sec != epoch {
			t.Errorf("%s: mtime %d atime %d, want %d", p, st.Mtim.Sec, st.Atim.Sec, int64(epoch))
		}
	}
}
