// Try to create each path given, then delete the file given after --delete.
package main

import (
	"fmt"
	"os"
)

func main() {
	i := 1
	for ; i < len(os.Args) && os.Args[i] != "--delete"; i++ {
		if err := os.WriteFile(os.Args[i], []byte("pwned"), 0o644); err == nil {
			fmt.Println("ESCAPED wrote", os.Args[i])
		} else {
			fmt.Println("blocked write", err)
		}
	}
	if err := os.Remove(os.Args[i+1]); err == nil {
		fmt.Println("ESCAPED deleted", os.Args[i+1])
	} else {
		fmt.Println("blocked delete", err)
	}
}
