package config

import (
	"errors"
	"testing"
)

func TestVMKey(t *testing.T) {
	c, err := Parse([]byte(`{"installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.VM.Command != DefaultInstallCommand || c.VM.Accel != "auto" || c.VM.Timeout != 1800 {
		t.Errorf("defaults: %+v", c.VM)
	}
	for _, tc := range []struct {
		name, json string
		want       error
	}{
		{"no vm", `{"installBootLoader": true}`, ErrRequired},
		{"no initrd", `{"installBootLoader": true, "vm": {"kernel": "/k"}}`, ErrRequired},
		{"bad accel", `{"installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i", "accel": "hvf"}}`, ErrVM},
		{"bad timeout", `{"installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i", "timeout": 0}}`, ErrVM},
		{"empty command", `{"installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i", "command": " "}}`, ErrVM},
		{"unknown key", `{"vm": {"kernal": "/k"}}`, ErrUnknownKey},
		{"wrong type", `{"vm": "qemu"}`, ErrType},
		{"smm type", `{"vm": {"systemManagementMode": "yes"}}`, ErrType},
		{"smm on aarch64", `{"system": "aarch64-linux", "installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i", "systemManagementMode": true}}`, ErrVM},
	} {
		if _, err := Parse([]byte(tc.json)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	c, err = Parse([]byte(`{"installBootLoader": true, "vm": {"kernel": "/k", "initrd": "/i", "systemManagementMode": true}}`))
	if err != nil || !c.VM.SystemManagementMode {
		t.Errorf("systemManagementMode: %+v, %v", c, err)
	}
	// Without installBootLoader the vm key is accepted and unused.
	if _, err := Parse([]byte(`{"vm": {"kernel": "/k"}}`)); err != nil {
		t.Errorf("vm without installBootLoader: %v", err)
	}
}

// TestNumericBootSize: a JSON number is bytes, for the partition planner
// too (parted reads a bare number as MB).
func TestNumericBootSize(t *testing.T) {
	c, err := Parse([]byte(`{"partitionTableType": "efi", "bootSize": 268435456}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.BootSize != 268435456 || c.BootSizeSpec != "268435456B" {
		t.Errorf("bootSize %d %q", c.BootSize, c.BootSizeSpec)
	}
	c, err = Parse([]byte(`{"partitionTableType": "efi", "bootSize": "256M"}`))
	if err != nil || c.BootSizeSpec != "256M" {
		t.Errorf("string bootSize: %q %v", c.BootSizeSpec, err)
	}
}
