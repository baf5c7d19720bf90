// Allocate and touch memory until something stops us.
package main

func main() {
	var keep [][]byte
	for {
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = 1
		}
		keep = append(keep, b)
	}
}
