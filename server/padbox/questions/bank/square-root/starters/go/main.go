package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	data, _ := io.ReadAll(os.Stdin)
	_ = data
	// TODO: Square Root: read the input above, print the answer
	fmt.Println("")
}
