//go:build !linux

package ingest

// pseudoFilesystem knows the kernel pseudo-filesystems of Linux only.
func pseudoFilesystem(string) (string, bool) { return "", false }
