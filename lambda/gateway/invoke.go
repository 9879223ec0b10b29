package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/s3cli-dev/s3cli/lambda/runtimeapi"
)

// maxEventPayload is Lambda's limit for asynchronous (Event) invocations.
const maxEventPayload = 1024 * 1024

// invoke answers Lambda Invoke for the function named in the path.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	invocationType := cmp.Or(r.Header.Get("X-Amz-Invocation-Type"), "RequestResponse")
	limit := runtimeapi.MaxRequestPayload
	switch invocationType {
	case "RequestResponse", "DryRun":
	case "Event":
		limit = maxEventPayload
	default:
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("X-Amz-Invocation-Type %q is not one of RequestResponse, Event, DryRun", invocationType))
		return
	}
	payload, ok := readBody(w, r, limit, "the payload", "the InvokeFunction operation")
	if !ok {
		return
	}
	if !g.authorizeInvoke(w, r, name, payload) {
		return
	}

	region := requestRegion(r, g.region)
	name, qualifier, arnRegion := splitName(name, r.URL.Query().Get("Qualifier"))
	region = cmp.Or(arnRegion, region)
	fn, status, code, msg := g.function(ctx, region, name, qualifier)
	if status != 0 {
		writeError(w, status, code, msg)
		return
	}

	switch invocationType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		g.events.Go(func() {
			res, err := g.exec.Invoke(g.ctx, fn, payload)
			switch {
			case err != nil:
				g.logf("gateway: event invocation of %s failed: %v", fn.Name, err)
			case res.FunctionError != "":
				g.logf("gateway: event invocation %s of %s: %s %.300s", res.RequestID, fn.Name, res.FunctionError, res.Payload)
			}
		})
		w.WriteHeader(http.StatusAccepted)
		return
	}

	start := time.Now()
	res, err := g.exec.Invoke(ctx, fn, payload)
	if err != nil {
		switch {
		case errors.Is(err, runtimeapi.ErrRequestTooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", err.Error())
		case errors.Is(err, runtimeapi.ErrInvalidPackage):
			writeError(w, http.StatusBadGateway, "InvalidZipFileException", err.Error())
		default:
			writeError(w, http.StatusInternalServerError, "ServiceException", "gateway: "+err.Error())
		}
		return
	}
	g.logf("gateway: invoked %s: request %s, %d ms, %s", fn.Name, res.RequestID, time.Since(start).Milliseconds(), cmp.Or(res.FunctionError, "ok"))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Requestid", res.RequestID)
	h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		h.Set("X-Amz-Log-Result", res.LogResult)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// function reads the function's configuration from the upstream and pairs it
// with the code the gateway captured. A non-zero status is an API error to return.
func (g *Gateway) function(ctx context.Context, region, name, qualifier string) (fn runtimeapi.Function, status int, code, msg string) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	in := &lambda.GetFunctionConfigurationInput{FunctionName: &name}
	if qualifier != "" {
		in.Qualifier = &qualifier
	}
	out, err := g.lambda.GetFunctionConfiguration(ctx, in, func(o *lambda.Options) { o.Region = region })
	if err != nil {
		status, code, msg = upstreamError(err)
		return fn, status, code, msg
	}
	if out.State != "" && out.State != types.StateActive {
		return fn, http.StatusConflict, "ResourceConflictException",
			"The operation cannot be performed at this time. The function is currently in the following state: " + string(out.State)
	}
	fname := aws.ToString(out.FunctionName)
	d, ok := g.codeOf(region, fname)
	switch {
	case !ok:
		return fn, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf(
			"gateway: no code for function %s in %s: the gateway runs only code uploaded through it; create the function or update its code (ZipFile or S3) with the endpoint %s",
			fname, region, g.url)
	case d.sha256 != aws.ToString(out.CodeSha256):
		return fn, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf(
			"gateway: the code of function %s in %s (CodeSha256 %s) was not uploaded through the gateway, which holds %s; update the function's code with the endpoint %s",
			fname, region, aws.ToString(out.CodeSha256), d.sha256, g.url)
	}
	fn = runtimeapi.Function{
		Name:       fname,
		ARN:        aws.ToString(out.FunctionArn),
		Version:    aws.ToString(out.Version),
		Handler:    aws.ToString(out.Handler),
		MemoryMB:   aws.ToInt32(out.MemorySize),
		Timeout:    time.Duration(aws.ToInt32(out.Timeout)) * time.Second,
		Region:     region,
		Role:       aws.ToString(out.Role),
		Endpoint:   g.url,
		Code:       d.zip,
		CodeSha256: d.sha256,
	}
	if out.Environment != nil {
		fn.Env = out.Environment.Variables
	}
	return fn, 0, "", ""
}

// assumeRole gets a new execution environment the credentials of the
// function's execution role, with the function's name as session name, as Lambda does.
func (g *Gateway) assumeRole(ctx context.Context, fn runtimeapi.Function) (aws.Credentials, error) {
	if fn.Role == "" {
		return aws.Credentials{}, fmt.Errorf("function %s has no execution role", fn.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	out, err := g.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &fn.Role, RoleSessionName: aws.String(sessionName(fn.Name))},
		func(o *sts.Options) { o.Region = fn.Region })
	if err != nil {
		// moto, enforcing IAM, checks the trust policy against the gateway's
		// own identity (it cannot act as lambda.amazonaws.com) and fails when
		// no AWS principal is named: say what to add.
		hint := ""
		if id, idErr := g.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.Region = fn.Region }); idErr == nil {
			hint = fmt.Sprintf(" (against an emulator enforcing IAM, the role's trust policy must also name the gateway's caller: \"Principal\": {\"AWS\": %q})", aws.ToString(id.Arn))
		}
		return aws.Credentials{}, fmt.Errorf("assuming %s%s: %w", fn.Role, hint, err)
	}
	c := out.Credentials
	return aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          "gateway AssumeRole",
		CanExpire:       c.Expiration != nil,
		Expires:         aws.ToTime(c.Expiration),
	}, nil
}

// splitName takes a function name, ARN or partial ARN, with or without a
// qualifier, apart. $LATEST is no qualifier at all.
func splitName(name, qualifier string) (function, q, region string) {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn": // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		region, parts = parts[3], parts[6:]
	case len(parts) >= 3 && parts[1] == "function": // ACCOUNT:function:NAME[:QUALIFIER]
		parts = parts[2:]
	}
	function = parts[0]
	if len(parts) > 1 {
		qualifier = parts[1]
	}
	if qualifier == "$LATEST" {
		qualifier = ""
	}
	return function, qualifier, region
}

// sessionName makes a role session name (2 to 64 of [\w+=,.@-]) of a function name.
func sessionName(function string) string {
	if len(function) < 2 {
		function += "-lambda"
	}
	return function[:min(len(function), 64)]
}

var credentialScope = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/`)

// requestRegion is the region the client signed the request for.
func requestRegion(r *http.Request, fallback string) string {
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return fallback
}

// upstreamError turns an upstream call's error into the API error to return.
func upstreamError(err error) (status int, code, msg string) {
	status = http.StatusBadGateway
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		status = re.HTTPStatusCode()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return status, apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	return status, "ServiceException", "gateway: reading the function's configuration from the upstream: " + err.Error()
}

// writeError writes an error the way the Lambda API does: the type in
// x-amzn-ErrorType, the message in a JSON body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct{ Type, Message string }{kind, msg})
}
