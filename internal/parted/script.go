package parted

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Errors of Run, wrapped with the command that failed.
var (
	// ErrScript: a command Run does not model, or malformed.
	ErrScript = errors.New("parted: unsupported command")
	// ErrAlign: `align-check optimal N` finds partition N unaligned
	// (parted --script exits 1).
	ErrAlign = errors.New("parted: partition not aligned")
)

// CommandError is a failed command of Run: its words and why.
type CommandError struct {
	Words []string // the command, "mkpart ESP fat32 8MiB 256M"
	Err   error    // ErrLocation, ErrNoRoom or ErrAlign
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v", strings.Join(e.Words, " "), e.Err)
}

func (e *CommandError) Unwrap() error { return e.Err }

// Part is a partition Run made.
type Part struct {
	Geom
	Name  string   // the GPT name; in an msdos label, the type word ("primary")
	FS    string   // the file-system type given to mkpart ("fat32", "ext4"), or ""
	Flags []string // flags set on, in order ("boot", "bios_grub", "bls_boot")
}

// Has reports whether flag is set on p.
func (p Part) Has(flag string) bool { return slices.Contains(p.Flags, flag) }

// Table is the outcome of Run: the label and its partitions, partition n
// being Parts[n-1].
type Table struct {
	Label Label
	Parts []Part
}

// fsTypes are the file-system words parted's mkpart takes after the name.
var fsTypes = []string{"ext2", "ext3", "ext4", "fat16", "fat32", "linux-swap", "btrfs", "xfs", "ntfs", "hfs+", "udf"}

// Run plays `parted --script IMAGE -- args…` on a blank disk of sectors
// 512-byte sectors, as make-disk-image.nix's commands use it: mklabel
// msdos|gpt, mkpart NAME [FS] START END (msdos: primary [FS] START END),
// set N FLAG on, align-check optimal N and print. It fails where parted
// fails, with ErrLocation, ErrNoRoom, ErrAlign, or ErrScript for anything
// else.
func Run(sectors int64, args []string, o Options) (*Table, error) {
	var d *Disk
	t := &Table{}
	bad := func(i int, why string) error {
		return fmt.Errorf("%w: %q at word %d: %s", ErrScript, args[i], i+1, why)
	}
	for i := 0; i < len(args); {
		cmd := args[i]
		if cmd != "mklabel" && d == nil {
			return nil, bad(i, "no disk label yet")
		}
		switch cmd {
		case "mklabel":
			if i+1 >= len(args) {
				return nil, bad(i, "no label")
			}
			switch args[i+1] {
			case "msdos":
				t.Label = MSDOS
			case "gpt":
				t.Label = GPT
			default:
				return nil, bad(i+1, "want msdos or gpt")
			}
			d = NewDisk(sectors, t.Label, o)
			t.Parts = nil
			i += 2
		case "mkpart":
			j := i + 1
			if j >= len(args) {
				return nil, bad(i, "no partition name")
			}
			p := Part{Name: args[j]}
			j++
			if t.Label == MSDOS && p.Name != "primary" {
				return nil, bad(i+1, "only primary partitions are modelled")
			}
			if j < len(args) && slices.Contains(fsTypes, args[j]) {
				p.FS = args[j]
				j++
			}
			if j+1 >= len(args) {
				return nil, bad(i, "want START and END")
			}
			g, err := d.Mkpart(args[j], args[j+1])
			if err != nil {
				return nil, &CommandError{Words: args[i : j+2], Err: err}
			}
			if t.Label == MSDOS && len(t.Parts) == 4 {
				return nil, bad(i, "an msdos label holds 4 primary partitions")
			}
			p.Geom = g
			t.Parts = append(t.Parts, p)
			i = j + 2
		case "set":
			if i+3 >= len(args) || args[i+3] != "on" {
				return nil, bad(i, "want set N FLAG on")
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 1 || n > len(t.Parts) {
				return nil, bad(i+1, "no such partition")
			}
			t.Parts[n-1].Flags = append(t.Parts[n-1].Flags, args[i+2])
			i += 4
		case "align-check":
			if i+2 >= len(args) || args[i+1] != "optimal" {
				return nil, bad(i, "want align-check optimal N")
			}
			n, err := strconv.Atoi(args[i+2])
			if err != nil || n < 1 || n > len(t.Parts) {
				return nil, bad(i+2, "no such partition")
			}
			if !d.AlignCheckOptimal(n) {
				return nil, &CommandError{Words: args[i : i+3],
					Err: fmt.Errorf("%w: partition %d starts at sector %d, not on a %d-sector boundary", ErrAlign, n, t.Parts[n-1].Start, Grain)}
			}
			i += 3
		case "print":
			i++
		default:
			return nil, bad(i, "not a command make-disk-image.nix uses")
		}
	}
	if d == nil {
		return nil, fmt.Errorf("%w: no mklabel", ErrScript)
	}
	return t, nil
}
