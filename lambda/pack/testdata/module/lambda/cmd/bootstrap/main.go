// Command bootstrap stands in for the function in the packager's tests.
package main

import "fmt"

func main() { fmt.Println("bootstrap") }
