// Command handler is the test function of the runtimeapi conformance tests: a
// real aws-lambda-go function whose behaviour each event chooses.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	Size   int    `json:"size"`
	Ms     int    `json:"ms"`
	Code   int    `json:"code"`
	Lines  int    `json:"lines"`
}

type info struct {
	Pid        int               `json:"pid"`
	RequestID  string            `json:"request_id"`
	ARN        string            `json:"arn"`
	DeadlineMs int64             `json:"deadline_ms"`
	Cwd        string            `json:"cwd"`
	Env        map[string]string `json:"env"`
	Size       int               `json:"size"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch ev.Action {
	case "error":
		return nil, errors.New("the handler failed on purpose")
	case "panic":
		panic("the handler panicked on purpose")
	case "exit":
		fmt.Println("exiting with", ev.Code)
		os.Exit(ev.Code)
	case "sleep":
		fmt.Println("sleeping", ev.Ms, "ms")
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return "slept", nil
	case "big":
		return strings.Repeat("x", ev.Size), nil
	case "print":
		for i := range ev.Lines {
			fmt.Printf("stdout line %d\n", i)
			fmt.Fprintf(os.Stderr, "stderr line %d\n", i)
		}
		fmt.Print("no newline at the end")
		return "printed", nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	cwd, _ := os.Getwd()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return info{
		Pid:        os.Getpid(),
		RequestID:  lc.AwsRequestID,
		ARN:        lc.InvokedFunctionArn,
		DeadlineMs: deadline.UnixMilli(),
		Cwd:        cwd,
		Env:        env,
		Size:       len(raw),
	}, nil
}

func main() {
	switch os.Getenv("HANDLER_INIT") {
	case "exit":
		fmt.Println("init: exiting before the runtime starts")
		os.Exit(4)
	case "error":
		// What a runtime does when its initialisation fails.
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		body := bytes.NewBufferString(`{"errorType":"Init.Broken","errorMessage":"the init failed on purpose"}`)
		req, _ := http.NewRequest(http.MethodPost, url, body)
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Init.Broken")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		time.Sleep(time.Minute) // Lambda, not the runtime, ends the environment
	}
	fmt.Println("init: starting the runtime")
	lambda.Start(handle)
}
