// Command saaslens reads packet captures and reports which services were
// used, by whom and how well they responded.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: saaslens <command> [flags] ...

commands:
  inspect [--json] [--separate] FILE...   print the streams found in capture files
  ingest [--db FILE] [flags] PATH...      store capture files and directories (recursive) in SQLite
  watch [--db FILE] [flags] DIR...        ingest new files on an interval, as rotations write them
  classify [--json] [--contracts FILE] [--catalog FILE] [NAME...]
                                          the service of each server name (names from standard input when none are given)
  report [--db FILE] [--month YYYY-MM] [--lang en|ja] [-o FILE]
                                          a month's SaaS report as one HTML file, for mail and print

run "saaslens <command> -h" for a command's flags
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "inspect":
		return inspect(args[1:], stdout, stderr)
	case "ingest":
		return ingestCommand(args[1:], stdout, stderr)
	case "watch":
		return watchCommand(args[1:], stdout, stderr)
	case "classify":
		return classifyCommand(args[1:], os.Stdin, stdout, stderr)
	case "report":
		return reportCommand(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "saaslens: unknown command %q\n%s", args[0], usage)
	return 2
}
