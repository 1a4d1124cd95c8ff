package main

// The model kinds the command line knows: each registers itself with package model. A kind
// needs only its line here; a file of its own (drsae.go, topo.go, …) adds reports and pictures.
import (
	_ "github.com/drsae/drsae/model/conv"
	_ "github.com/drsae/drsae/model/dict"
	_ "github.com/drsae/drsae/model/drsae"
	_ "github.com/drsae/drsae/model/lateral"
	_ "github.com/drsae/drsae/model/lista"
	_ "github.com/drsae/drsae/model/local"
	_ "github.com/drsae/drsae/model/topo"
)
