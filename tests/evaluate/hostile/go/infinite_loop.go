// Burn CPU forever on every core.
package main

func main() {
	for i := 0; i < 4; i++ {
		go func() {
			n := 0
			for {
				n++
			}
		}()
	}
	n := 0
	for {
		n++
	}
}
