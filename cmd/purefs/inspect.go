package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/purefs/purefs/inspect"
)

func init() {
	register("inspect", "show the container, partition table and file systems of an image", inspectMain)
}

func inspectMain(args []string) error {
	fl := flag.NewFlagSet("purefs inspect", flag.ContinueOnError)
	asJSON := fl.Bool("json", false, "print a JSON object (stable field names)")
	fl.Usage = func() { fmt.Fprintln(fl.Output(), "usage: purefs inspect [--json] IMAGE") }
	pos, err := parseArgs(fl, args)
	if err != nil {
		return &exitError{code: 2}
	}
	if len(pos) != 1 {
		fl.Usage()
		return &exitError{code: 2}
	}
	d, closer, err := openDisk(pos[0])
	if err != nil {
		return err
	}
	defer closer.Close()
	rep, err := inspect.Inspect(d.Src, d.Format)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	rep.Container.Fields = d.Fields
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(os.Stdout, pos[0], rep)
	return nil
}

func printReport(w io.Writer, name string, rep *inspect.Report) {
	fmt.Fprintf(w, "%s: %s, virtual size %d bytes\n", name, rep.Container.Format, rep.VirtualSize)
	printFields(w, "  ", rep.Container.Fields)
	switch t := rep.Table; {
	case t == nil:
		fmt.Fprintln(w, "partition table: none")
	case t.Type == "gpt":
		fmt.Fprintf(w, "partition table: gpt, disk GUID %s, %s MBR, usable LBAs %d-%d\n", t.DiskGUID, t.ProtectiveMBR, t.FirstUsable, t.LastUsable)
		if t.PrimaryDamaged {
			fmt.Fprintln(w, "  warning: the primary GPT is damaged; the table was read from the backup")
		} else if t.BackupHealthy != nil && !*t.BackupHealthy {
			fmt.Fprintln(w, "  warning: the backup GPT is damaged or missing")
		}
	default:
		fmt.Fprintf(w, "partition table: %s, disk signature 0x%s\n", t.Type, t.DiskSignature)
	}
	for _, p := range rep.Partitions {
		fmt.Fprintf(w, "partition %d: start %d, size %d, type %s", p.Number, p.Start, p.Size, p.Type)
		if p.TypeName != "" {
			fmt.Fprintf(w, " (%s)", p.TypeName)
		}
		if p.Name != "" {
			fmt.Fprintf(w, ", name %q", p.Name)
		}
		if p.GUID != "" {
			fmt.Fprintf(w, ", GUID %s", p.GUID)
		}
		if len(p.Flags) > 0 {
			fmt.Fprintf(w, ", flags %s", strings.Join(p.Flags, ","))
		}
		fmt.Fprintln(w)
		printIDs(w, p.PartUUID, p.FileSystem)
		printFS(w, p.FileSystem)
	}
	if rep.FileSystem != nil {
		printIDs(w, "", rep.FileSystem)
		printFS(w, rep.FileSystem)
	}
}

// printIDs prints the names root= and fstab take, as blkid spells them.
func printIDs(w io.Writer, partUUID string, fs *inspect.FileSystem) {
	var ids []string
	if partUUID != "" {
		ids = append(ids, "PARTUUID="+partUUID)
	}
	if fs != nil && fs.UUID != "" {
		ids = append(ids, "UUID="+fs.UUID)
	}
	if len(ids) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(ids, " "))
	}
}

func printFS(w io.Writer, fs *inspect.FileSystem) {
	if fs == nil {
		return
	}
	fmt.Fprintf(w, "  file system: %s\n", fs.Type)
	if fs.Error != "" {
		fmt.Fprintf(w, "    error: %s\n", fs.Error)
	}
	printFields(w, "    ", fs.Fields)
}

func printFields(w io.Writer, indent string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s%s: %s\n", indent, k, m[k])
	}
}
