package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	data, _ := io.ReadAll(os.Stdin)
	_ = data
	// TODO: Valid Parentheses: read the input above, print the answer
	fmt.Println("")
}
