package config

import (
	"fmt"
	"strings"
)

// Umask is the file-creation mask that rsync's --chmod applies to symbolic
// clauses without a who part ("+x"): the Nix builder's umask, fixed so that
// the host's umask never reaches an image.
const Umask = 0o022

// Chmod is a parsed rsync --chmod value: comma-separated clauses, each
// optionally prefixed with D (directories only) or F (non-directories only),
// and each either octal digits ("755", "0644": the permission bits are set to
// that value) or symbolic [ugoa]*[+-=][rwxXst]* as rsync's chmod.c reads it
// (no who letters: all three, masked by Umask; X: execute only for
// directories and for files that already have an execute bit).
type Chmod struct {
	text    string
	clauses []chmodClause
}

type chmodClause struct {
	dirsOnly, filesOnly bool
	keepX               bool // X: do not add execute bits to non-executable files
	and, or             uint32
}

// ParseChmod parses an rsync --chmod value.
func ParseChmod(s string) (*Chmod, error) {
	if s == "" {
		return nil, fmt.Errorf("%w %q: empty", ErrMode, s)
	}
	c := &Chmod{text: s}
	for _, item := range strings.Split(s, ",") {
		cl, err := parseClause(item)
		if err != nil {
			return nil, fmt.Errorf("%w %q: clause %q: %v", ErrMode, s, item, err)
		}
		c.clauses = append(c.clauses, cl)
	}
	return c, nil
}

func parseClause(item string) (chmodClause, error) {
	var cl chmodClause
	rest := item
	for rest != "" && (rest[0] == 'D' || rest[0] == 'F') {
		if rest[0] == 'D' {
			cl.dirsOnly = true
		} else {
			cl.filesOnly = true
		}
		rest = rest[1:]
	}
	if cl.dirsOnly && cl.filesOnly {
		return cl, fmt.Errorf("both D and F")
	}
	if rest == "" {
		return cl, fmt.Errorf("no mode")
	}
	if rest[0] >= '0' && rest[0] <= '7' {
		var v uint32
		for _, r := range rest {
			if r < '0' || r > '7' {
				return cl, fmt.Errorf("%q is not an octal digit", r)
			}
			v = v<<3 | uint32(r-'0')
			if v > 0o7777 {
				return cl, fmt.Errorf("octal mode above 7777")
			}
		}
		cl.and, cl.or = 0, v
		return cl, nil
	}
	var where, topbits uint32
	i := 0
who:
	for ; i < len(rest); i++ {
		switch rest[i] {
		case 'u':
			where |= 0o100
			topbits |= 0o4000
		case 'g':
			where |= 0o010
			topbits |= 0o2000
		case 'o':
			where |= 0o001
		case 'a':
			where |= 0o111
		default:
			break who
		}
	}
	if i == len(rest) {
		return cl, fmt.Errorf("no operator (+, - or =)")
	}
	op := rest[i]
	if op != '+' && op != '-' && op != '=' {
		return cl, fmt.Errorf("%q is not a who letter (ugoa) or an operator (+-=)", op)
	}
	var what, topoct uint32
	for _, r := range rest[i+1:] {
		switch r {
		case 'r':
			what |= 4
		case 'w':
			what |= 2
		case 'X':
			cl.keepX = true
			what |= 1
		case 'x':
			what |= 1
		case 's':
			if topbits != 0 {
				topoct |= topbits
			} else {
				topoct = 0o4000
			}
		case 't':
			topoct |= 0o1000
		default:
			return cl, fmt.Errorf("%q is not a permission letter (rwxXst)", r)
		}
	}
	var bits uint32
	if where != 0 {
		bits = where * what
	} else {
		where = 0o111
		bits = (where * what) &^ Umask
	}
	switch op {
	case '+':
		cl.and, cl.or = 0o7777, bits|topoct
	case '-':
		cl.and, cl.or = 0o7777&^(bits|topoct), 0
	case '=':
		keepTop := uint32(0)
		if topoct != 0 {
			keepTop = topbits
		}
		cl.and, cl.or = 0o7777&^(where*7|keepTop), bits|topoct
	}
	return cl, nil
}

// Apply returns the permission bits (mask 07777) that perm becomes; dir
// tells whether the file is a directory.
func (c *Chmod) Apply(perm uint32, dir bool) uint32 {
	if c == nil {
		return perm
	}
	isX := perm&0o111 != 0
	for _, cl := range c.clauses {
		if cl.dirsOnly && !dir || cl.filesOnly && dir {
			continue
		}
		perm &= cl.and
		if cl.keepX && !isX && !dir {
			perm |= cl.or &^ 0o111
		} else {
			perm |= cl.or
		}
	}
	return perm & 0o7777
}

// String returns the value as it was given.
func (c *Chmod) String() string {
	if c == nil {
		return ""
	}
	return c.text
}
