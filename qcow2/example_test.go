package qcow2_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/purefs/purefs/qcow2"
	"github.com/purefs/purefs/sparse"
)

// memDisk is a virtual disk held in memory: a sparse.Source, as code
// outside purefs can write one.
type memDisk struct {
	*bytes.Reader
	data []sparse.Range
}

func (d memDisk) DataRanges() ([]sparse.Range, error) { return d.data, nil }

// Write a 16 MiB virtual disk with two data ranges as a qcow2 image, then
// read it back.
func ExampleWrite() {
	disk := make([]byte, 16<<20)
	copy(disk[4096:], "boot sector of the first partition")
	copy(disk[9<<20:], "data further on")
	src := memDisk{bytes.NewReader(disk), []sparse.Range{{Off: 0, Len: 1 << 20}, {Off: 9 << 20, Len: 1 << 20}}}

	f, err := os.CreateTemp("", "purefs-example-*.qcow2")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := qcow2.Write(f, src, qcow2.Options{}); err != nil {
		panic(err)
	}
	fi, err := f.Stat()
	if err != nil {
		panic(err)
	}

	rd, err := qcow2.Open(f, fi.Size())
	if err != nil {
		panic(err)
	}
	// Only the clusters that hold non-zero bytes are allocated.
	ranges, err := rd.DataRanges()
	fmt.Println(rd.Size(), rd.ClusterSize(), rd.Version(), ranges, err)
	b := make([]byte, 15)
	rd.ReadAt(b, 9<<20)
	fmt.Printf("%q\n", b)
	// Output:
	// 16777216 65536 3 [{0 65536} {9437184 65536}] <nil>
	// "data further on"
}
