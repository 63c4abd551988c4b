// Command handler builds the drill example's custom handler on its own
// (go build -o handler ./src); its code is package examples/drillapp.
package main

import "github.com/tandemhq/tandem/examples/drillapp"

func main() { drillapp.Main() }
