package gateway

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestWebIdentityExchangeIsCheckedAndSignedByTheGateway: the SDK sends AssumeRoleWithWebIdentity
// unsigned, as AWS takes it. With Config.WebIdentity the gateway answers it as AWS would: a
// trusted token gets the role's credentials from the IAM-enforcing moto (which refuses the same
// call unsigned), a token the provider did not issue is refused with InvalidIdentityToken.
func TestWebIdentityExchangeIsCheckedAndSignedByTheGateway(t *testing.T) {
	t.Parallel()
	m := needEnforcingMoto(t)
	ctx := testContext(t)
	admin := config(m.url, m.admin[0], m.admin[1])
	role, err := iam.NewFromConfig(admin).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web-identity-exchange"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	roleARN := aws.ToString(role.Role.Arn)

	const trusted = "eyJhbGciOiJSUzI1NiJ9.trusted.sig"
	exchange := func(url, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		anonymous := aws.Config{Region: region, BaseEndpoint: aws.String(url)} // no credentials: the SDK sends the call unsigned
		return sts.NewFromConfig(anonymous).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s3cli"), WebIdentityToken: aws.String(token)})
	}

	if _, err := exchange(m.url, trusted); err == nil {
		t.Fatal("the IAM-enforcing moto answered an unsigned AssumeRoleWithWebIdentity: the gateway's signature would prove nothing")
	}
	g := startWith(t, Config{Upstream: m.url, AWS: admin, Log: t.Output(), WebIdentity: func(token string) bool { return token == trusted }})

	out, err := exchange(g.URL(), trusted)
	if err != nil {
		t.Fatalf("a trusted token was not exchanged: %v", err)
	}
	if out.Credentials == nil || aws.ToString(out.Credentials.AccessKeyId) == "" || aws.ToString(out.AssumedRoleUser.Arn) == "" {
		t.Fatalf("the exchange returned no credentials: %+v", out)
	}
	_, err = exchange(g.URL(), "eyJhbGciOiJSUzI1NiJ9.forged.sig")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidIdentityToken" {
		t.Fatalf("a token no provider issued: got %v, want InvalidIdentityToken", err)
	}
}
