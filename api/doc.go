// Package api is the Open Inference Protocol's gRPC service (package
// inference, service GRPCInferenceService) as Go types, generated from
// inference.proto. Regenerate after editing the .proto (protoc from Debian's
// protobuf-compiler 3.21; the plugins at the versions pinned below):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./api
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative inference.proto
package api
