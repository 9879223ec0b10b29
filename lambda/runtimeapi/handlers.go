package runtimeapi

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() { close(in.ready) })
	select {
	case inv := <-in.next:
		in.mu.Lock()
		in.current = inv
		in.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
		h.Set("Lambda-Runtime-Trace-Id", inv.trace)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done(): // the runtime went away, or the environment is retired
	}
}

// handleResult takes the runtime's response (or error) for the current invocation.
func (in *instance) handleResult(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		inv := in.current
		if inv == nil || inv.id != r.PathValue("id") {
			in.mu.Unlock()
			apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
			return
		}
		in.current = nil
		in.mu.Unlock()

		body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload+1))
		switch {
		case err != nil:
			msg := fmt.Sprintf("RequestId: %s Error: reading the runtime's response: %v", inv.id, err)
			inv.done <- outcome{failed: true, payload: errorDoc("Runtime.Unknown", msg)}
			apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		case len(body) > MaxResponsePayload:
			_, _ = io.Copy(io.Discard, r.Body)
			msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload)
			inv.done <- outcome{failed: true, payload: errorDoc("Function.ResponseSizeTooLarge", msg)}
			apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload))
		case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
			// The runtime failed while streaming its response and says so in trailers.
			doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
			if !json.Valid(doc) {
				doc = errorDoc(r.Trailer.Get("Lambda-Runtime-Function-Error-Type"), string(doc))
			}
			inv.done <- outcome{failed: true, payload: doc}
			accepted(w)
		default:
			if failed && !json.Valid(body) {
				body = errorDoc(cmp.Or(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "Unhandled"), string(body))
			}
			inv.done <- outcome{failed: failed, payload: body}
			accepted(w)
		}
	}
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload))
	if !json.Valid(body) {
		body = errorDoc(cmp.Or(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "Runtime.InitError"), string(body))
	}
	select {
	case in.initErr <- outcome{failed: true, payload: body}:
	default:
	}
	accepted(w)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorDoc(typ, msg))
}

// errorDoc is the error document Lambda returns as the payload of a failed invocation.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}{typ, msg})
	return b
}

// errorType reads errorType from an error document.
func errorType(doc []byte, fallback string) string {
	var d struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(doc, &d) == nil && d.Type != "" {
		return d.Type
	}
	return fallback
}
