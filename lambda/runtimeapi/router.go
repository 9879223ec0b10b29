package runtimeapi

import "net/http"

// routes is the Runtime API, version 2018-06-01.
func (in *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResult(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleResult(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	return mux
}
