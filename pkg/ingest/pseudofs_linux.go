package ingest

import "syscall"

// pseudoFilesystems are the kernel's file systems whose files are views of
// its state (their sizes 0, some of their reads waiting forever), by the
// statfs magic numbers of linux/magic.h.
var pseudoFilesystems = map[uint32]string{
	0x9fa0: "proc", 0x62656572: "sysfs", 0x64626720: "debugfs", 0x74726163: "tracefs",
	0x73636673: "securityfs", 0x27e0eb: "cgroup", 0x63677270: "cgroup2", 0xcafe4a11: "bpf",
	0x1cd1: "devpts", 0x62656570: "configfs", 0x6165676c: "pstore", 0xde5e81e4: "efivarfs",
	0x19800202: "mqueue", 0x65735543: "fusectl", 0xf97cff8c: "selinuxfs", 0x42494e4d: "binfmt_misc",
	0x6e736673: "nsfs",
}

// pseudoFilesystem names the kernel pseudo-filesystem path is on, if it is.
func pseudoFilesystem(path string) (string, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return "", false
	}
	name, ok := pseudoFilesystems[uint32(st.Type)]
	return name, ok
}
