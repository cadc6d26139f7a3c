module github.com/dla-go/dla

go 1.26

require (
	github.com/nlpodyssey/gopickle v0.2.0
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	google.golang.org/protobuf v1.36.12
)
