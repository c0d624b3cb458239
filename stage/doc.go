// Package stage turns a staged root directory plus a contents list into one
// in-memory tree.Node tree, without copying any file: the writers read file
// data from the sources while the image is written. It also computes the
// seed's "auto" disk size.
package stage
