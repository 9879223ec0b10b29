package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"

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
