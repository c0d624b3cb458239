package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/purefs/purefs/internal/size"
)

// object is one JSON object read strictly: keys in input order, values raw.
type object struct {
	where  string // path of the object itself: "", "contents[0]", "bootloader"
	keys   []string
	fields map[string]json.RawMessage
}

// key returns the full name of key k in o, for messages.
func (o *object) key(k string) string {
	if o.where == "" {
		return k
	}
	return o.where + "." + k
}

// readObject parses data, which must hold exactly one JSON object. Duplicate
// keys are errors.
func readObject(data []byte, where string) (*object, error) {
	name := where
	if name == "" {
		name = "configuration"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, name, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: %s: want an object, got %s", ErrType, name, kindOf(data))
	}
	o := &object{where: where, fields: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, name, err)
		}
		k, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrSyntax, o.key(k), err)
		}
		if _, dup := o.fields[k]; dup {
			return nil, fmt.Errorf("%w %q", ErrDuplicateKey, o.key(k))
		}
		o.keys = append(o.keys, k)
		o.fields[k] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSyntax, name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: %s: data after the closing brace", ErrSyntax, name)
	}
	return o, nil
}

// allow fails on the first key (in input order) not in known.
func (o *object) allow(known ...string) error {
	for _, k := range o.keys {
		ok := false
		for _, kk := range known {
			if k == kk {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownKey, o.key(k))
		}
	}
	return nil
}

// kindOf names the JSON type of a raw value.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func (o *object) typeErr(k, want string) error {
	return fmt.Errorf("%w: key %q: want %s, got %s", ErrType, o.key(k), want, kindOf(o.fields[k]))
}

// str returns the string at k, or def when k is absent.
func (o *object) str(k, def string) (string, error) {
	raw, ok := o.fields[k]
	if !ok {
		return def, nil
	}
	var s string
	if kindOf(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", o.typeErr(k, "a string")
	}
	return s, nil
}

// nullableStr returns the string at k; null gives "" and present false...
// present reports whether k was given at all (null counts as given).
func (o *object) nullableStr(k string) (s string, present bool, err error) {
	raw, ok := o.fields[k]
	if !ok {
		return "", false, nil
	}
	if isNull(raw) {
		return "", true, nil
	}
	if kindOf(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", true, o.typeErr(k, "a string or null")
	}
	return s, true, nil
}

func (o *object) boolean(k string, def bool) (bool, error) {
	raw, ok := o.fields[k]
	if !ok {
		return def, nil
	}
	var b bool
	if kindOf(raw) != "a boolean" || json.Unmarshal(raw, &b) != nil {
		return false, o.typeErr(k, "a boolean")
	}
	return b, nil
}

// integer returns the JSON integer at k, or def when k is absent.
func (o *object) integer(k string, def int64) (int64, error) {
	raw, ok := o.fields[k]
	if !ok {
		return def, nil
	}
	if kindOf(raw) != "a number" {
		return 0, o.typeErr(k, "an integer")
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: key %q: want an integer, got %s", ErrType, o.key(k), bytes.TrimSpace(raw))
	}
	return v, nil
}

// strList returns the array of strings at k (absent: nil). single accepts
// one string for a one-element list.
func (o *object) strList(k string, single bool) ([]string, error) {
	raw, ok := o.fields[k]
	if !ok {
		return nil, nil
	}
	want := "an array of strings"
	if single {
		want = "a string or an array of strings"
		if kindOf(raw) == "a string" {
			s, err := o.str(k, "")
			return []string{s}, err
		}
	}
	var l []string
	if kindOf(raw) != "an array" || json.Unmarshal(raw, &l) != nil {
		return nil, o.typeErr(k, want)
	}
	for i, s := range l {
		if s == "" {
			return nil, fmt.Errorf("%w: key %q: element %d is empty", ErrRequired, o.key(k), i)
		}
	}
	return l, nil
}

// objects returns the array of objects at k.
func (o *object) objects(k string) ([]*object, error) {
	raw, ok := o.fields[k]
	if !ok {
		return nil, nil
	}
	var l []json.RawMessage
	if kindOf(raw) != "an array" || json.Unmarshal(raw, &l) != nil {
		return nil, o.typeErr(k, "an array of objects")
	}
	out := make([]*object, len(l))
	for i, r := range l {
		sub, err := readObject(r, fmt.Sprintf("%s[%d]", o.key(k), i))
		if err != nil {
			return nil, err
		}
		out[i] = sub
	}
	return out, nil
}

// sizeValue returns the size at k in bytes (internal/size's grammar for a
// string, bytes for a JSON integer) and the text given.
func (o *object) sizeValue(k, def string) (int64, string, error) {
	raw, ok := o.fields[k]
	text := def
	switch {
	case !ok:
	case kindOf(raw) == "a string":
		var err error
		if text, err = o.str(k, def); err != nil {
			return 0, "", err
		}
	case kindOf(raw) == "a number":
		text = string(bytes.TrimSpace(raw))
	default:
		return 0, "", o.typeErr(k, "a size (a string such as \"512M\" or a number of bytes)")
	}
	n, err := size.Parse(text)
	if err != nil {
		return 0, "", fmt.Errorf("%w: key %q: %w", ErrSize, o.key(k), err)
	}
	if kindOf(raw) == "a number" {
		// A JSON number is bytes for parted too, which reads a bare
		// number as MB.
		text += "B"
	}
	return n, text, nil
}
