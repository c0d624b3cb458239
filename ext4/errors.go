package ext4

import "errors"

// Sentinel errors; every error Write returns wraps one of them (or an
// I/O error from the window or a source file).
var (
	ErrNoSpace       = errors.New("ext4: not enough space")
	ErrTooManyInodes = errors.New("ext4: not enough inodes")
	ErrLabel         = errors.New("ext4: invalid label")
	ErrName          = errors.New("ext4: invalid name")
	ErrSize          = errors.New("ext4: invalid size")
	ErrSource        = errors.New("ext4: cannot read source")
	ErrXattr         = errors.New("ext4: extended attributes do not fit")
	ErrTree          = errors.New("ext4: invalid tree")
	ErrEpoch         = errors.New("ext4: epoch out of range")
)
