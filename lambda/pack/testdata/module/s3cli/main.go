// Command s3cli stands in for the CLI in the packager's tests; it prints its version.
package main

import "fmt"

var version = "dev"

func main() { fmt.Println(version) }
