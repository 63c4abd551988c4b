// Command handler builds the hello-go example's custom handler on its own
// (go build -o handler ./src); its code is package examples/hellogo.
package main

import "github.com/tandemhq/tandem/examples/hellogo"

func main() { hellogo.Main() }
