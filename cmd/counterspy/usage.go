package main

import (
	"flag"
	"fmt"
	"strings"
)

// setUsage gives a command's -h the one form every command shares:
//
//	usage: counterspy NAME SYNOPSIS
//
//	DESCRIPTION
//
//	Examples:
//	  counterspy NAME ...
//
//	Flags:
//	  -flag ...
func setUsage(fs *flag.FlagSet, synopsis, description string, examples ...string) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s %s\n\n%s\n", fs.Name(), synopsis, strings.TrimSpace(description))
		if len(examples) > 0 {
			fmt.Fprintln(w, "\nExamples:")
			for _, e := range examples {
				fmt.Fprintln(w, "  "+e)
			}
		}
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
}
