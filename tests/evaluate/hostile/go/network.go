// Connect to a listener on the host's loopback and send a message.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Println("blocked:", err)
		os.Exit(1)
	}
	c.Write([]byte("ESCAPED"))
	c.Close()
	fmt.Println("ESCAPED connected")
}
