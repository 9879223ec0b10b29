package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3cli-dev/s3cli/fixtures/awsmode/mototest"
)

// moto is a moto_server child on a free loopback port (fixtures/awsmode/mototest).
type moto struct {
	url string
	srv *mototest.Server
}

// startMoto starts moto_server and waits until it answers.
func startMoto(ctx context.Context) (*moto, error) {
	srv, err := mototest.Launch(ctx)
	if err != nil {
		return nil, err
	}
	return &moto{url: srv.URL, srv: srv}, nil
}

// stop kills moto_server's process group (the pyenv shim and python).
func (m *moto) stop() { m.srv.Stop() }

// enforceAuth makes moto check IAM policies and SigV4 signatures from now on.
func (m *moto) enforceAuth(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.url+"/moto-api/reset-auth", strings.NewReader("0"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset-auth: %s", resp.Status)
	}
	return nil
}

// enforcedMoto is a moto that checks IAM policies and SigV4 signatures, with two users
// allowed everything, made before enforcement started.
type enforcedMoto struct {
	*moto
	admin, other [2]string // access key id and secret
	adminARN     string
}

// startEnforcedMoto starts moto_server, creates the users admin and other, and switches
// enforcement on.
func startEnforcedMoto(ctx context.Context) (*enforcedMoto, error) {
	m, err := startMoto(ctx)
	if err != nil {
		return nil, err
	}
	e := &enforcedMoto{moto: m}
	setup := iam.NewFromConfig(config(m.url, "testing", "testing"))
	for _, name := range []string{"admin", "other"} {
		user, err := setup.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		if err != nil {
			m.stop()
			return nil, fmt.Errorf("creating user %s: %w", name, err)
		}
		if _, err := setup.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("all"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
			m.stop()
			return nil, fmt.Errorf("granting user %s everything: %w", name, err)
		}
		key, err := setup.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			m.stop()
			return nil, fmt.Errorf("creating a key for %s: %w", name, err)
		}
		pair := [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
		if name == "admin" {
			e.admin, e.adminARN = pair, aws.ToString(user.User.Arn)
		} else {
			e.other = pair
		}
	}
	if err := m.enforceAuth(ctx); err != nil {
		m.stop()
		return nil, err
	}
	return e, nil
}
