package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	data, _ := io.ReadAll(os.Stdin)
	_ = data
	// TODO: Longest Substring Without Repeating Characters: read the input above, print the answer
	fmt.Println("")
}
