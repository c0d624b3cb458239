// Package apicheck holds the test that keeps the public packages'
// APIs free of internal types: code outside the module must be able to
// call and implement everything `go doc` shows.
package apicheck
