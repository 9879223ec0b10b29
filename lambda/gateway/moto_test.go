package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// moto is a moto_server child on a free loopback port.
type moto struct {
	url string
	cmd *exec.Cmd
}

// startMoto starts moto_server and waits until it answers.
func startMoto(ctx context.Context) (*moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH (install moto[server]): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	m := &moto{url: "http://127.0.0.1:" + port}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			m.stop()
			return nil, errors.Join(fmt.Errorf("moto_server did not answer on %s", m.url), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop kills moto_server's process group (the pyenv shim and python).
func (m *moto) stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	_ = m.cmd.Wait()
}

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
