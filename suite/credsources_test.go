package suite

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/credsources"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// Every way s3cli with credentials_source env_or_profile meets a role's credentials. The Lambda
// entry runs inside the test-runner function (label iam-role); the others run host side, each
// with its own allowed and denied bucket and a role holding the execution role's policy on the
// allowed one, its credentials served by a fixture of fixtures/credsources from the target's STS.
var _ = Describe("Credential sources", func() {
	DescribeTable("s3cli with role credentials from",
		func(ctx SpecContext, start sourceStart) { credentialSourceSpec(ctx, start, false) },
		Entry("the Lambda execution role (environment variables)", Label(names.LabelIAMRole), lambdaRoleSource, SpecTimeout(3*time.Minute)),
		Entry("an EC2 instance profile through IMDSv2", Label(names.LabelCredentialSources), imdsSource, SpecTimeout(4*time.Minute)),
		Entry("a container credentials endpoint (ECS, EKS Pod Identity)", Label(names.LabelCredentialSources), containerSource, SpecTimeout(3*time.Minute)),
		Entry("a web identity token (GitHub OIDC, EKS IRSA)", Label(names.LabelCredentialSources), webIdentitySource, SpecTimeout(3*time.Minute)),
		Entry("a shared profile chaining role_arn to a source_profile", Label(names.LabelCredentialSources), chainedProfileSource, SpecTimeout(3*time.Minute)),
		Entry("a shared profile with credential_process", Label(names.LabelCredentialSources), processProfileSource, SpecTimeout(3*time.Minute)),
		Entry("credentials that expire during a multipart put", Label(names.LabelCredentialSources), expiringSource, SpecTimeout(4*time.Minute)),
	)

	// The negative control above proves something only if it can fail: with the role's policy
	// widened to the denied bucket, the same put there must succeed.
	DescribeTable("the denied-bucket check fails once the role's policy is widened to that bucket, for credentials from",
		func(ctx SpecContext, start sourceStart) { credentialSourceSpec(ctx, start, true) },
		Entry("an EC2 instance profile through IMDSv2", Label(names.LabelCredentialSources), imdsSource, SpecTimeout(4*time.Minute)),
		Entry("a container credentials endpoint", Label(names.LabelCredentialSources), containerSource, SpecTimeout(3*time.Minute)),
		Entry("a web identity token", Label(names.LabelCredentialSources), webIdentitySource, SpecTimeout(3*time.Minute)),
		Entry("a shared profile chaining role_arn to a source_profile", Label(names.LabelCredentialSources), chainedProfileSource, SpecTimeout(3*time.Minute)),
		Entry("a shared profile with credential_process", Label(names.LabelCredentialSources), processProfileSource, SpecTimeout(3*time.Minute)),
	)
})

// credSource is one way of handing a role's credentials to s3cli.
type credSource struct {
	// env is laid over a clean environment (credsources.Environ); ambient uses the process's own.
	env     map[string]string
	ambient bool
	// secrets lists every key handed out; none may appear in a config or an output.
	secrets func() []string
	// refused is the source's own negative check (a token-less or wrong-token request fails).
	refused func(ctx SpecContext)
	// bucket, when set, is the one bucket the source's given role may use (its policy is not
	// the spec's to make or widen): it is the allowed bucket.
	bucket string
	// expiring: the put is a multipart put fed through a pipe that waits past the first
	// credentials' expiry halfway; served counts the sets handed out, firstExpiry when the
	// first one ends.
	expiring    bool
	served      func() int
	firstExpiry func() time.Time
}

// sourceStart starts a source with files in dir. newRole makes the run's role the source serves
// (its policy on the allowed bucket, which it creates too) and the issuer of its credentials; a
// source calls it only when it serves such a role, so one given a role of its own (web
// identity on AWS) makes none. The Lambda entry gets nil: the function's own role is the source.
type sourceStart func(ctx SpecContext, newRole roleMaker, dir string) credSource

// roleMaker makes the run's role for a source (see sourceStart).
type roleMaker func() (*credsources.Role, *credsources.Issuer)

// expiringLifetime is how long each set of the expiring source lasts.
const expiringLifetime = 2 * time.Second

func lambdaRoleSource(SpecContext, roleMaker, string) credSource {
	return credSource{ambient: true, secrets: func() []string {
		var s []string
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			if v := os.Getenv(k); v != "" {
				s = append(s, v)
			}
		}
		return s
	}}
}

func imdsSource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	role, issuer := newRole()
	m, err := credsources.StartIMDS(ctx, issuer, role.Name, dir, deferStop)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: m.Env(), secrets: issuer.Secrets, refused: func(ctx SpecContext) {
		status, err := m.CredentialsStatus(ctx, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusUnauthorized), "the metadata mock answered a request without an IMDSv2 token")
		status, err = m.CredentialsStatus(ctx, true)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "the metadata mock refused a request with a token")
	}}
}

func containerSource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	_, issuer := newRole()
	c, err := credsources.StartContainer(issuer, dir, deferStop)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: c.Env(), secrets: issuer.Secrets, refused: func(ctx SpecContext) {
		served, _ := c.Served()
		Expect(served).To(BeNumerically(">", 0), "s3cli never asked the container endpoint")
		wrong := filepath.Join(GinkgoT().TempDir(), "wrong-token")
		Expect(os.WriteFile(wrong, []byte("not-the-token"), 0o600)).To(Succeed())
		s := c.Env()
		s["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = wrong
		sourceRefusal(ctx, s)
		_, refused := c.Served()
		Expect(refused).To(BeNumerically(">", 0), "the endpoint never saw the wrong token")
	}}
}

func webIdentitySource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	if env.Settings.WebIdentityRoleARN != "" {
		return gitHubWebIdentitySource(ctx, dir)
	}
	if caps := env.Target.Capabilities(); !caps.Emulated {
		Skip("on AWS this entry needs S3CLI_WEB_IDENTITY_ROLE_ARN (the CI stack's WebIdentityRoleArn output: a role GitHub's OIDC provider may assume, its policy on S3CLI_BUCKET only) and the job's own OIDC token (permissions id-token: write)")
	} else if env.Given.RoleARN != "" {
		Skip("in a rehearsal handed the CI stack's resources this entry needs S3CLI_WEB_IDENTITY_ROLE_ARN (make test-ci-policy gives it): the STS front signs the exchange with the host principal's key, and the CI role (rightly) holds no sts:AssumeRoleWithWebIdentity")
	}
	_, issuer := newRole()
	w, err := credsources.StartWebIdentity(issuer, env.Target.Endpoint(), env.Region, env.Target.Config().Credentials, dir, deferStop)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: w.Env(), secrets: issuer.Secrets, refused: func(ctx SpecContext) {
		forwarded, _ := w.Exchanges()
		Expect(forwarded).To(BeNumerically(">", 0), "s3cli never exchanged its token")
		forgedToken(ctx, w)
	}}
}

// gitHubWebIdentitySource is the web identity entry as CI meets it on AWS: the job's own OIDC
// token from GitHub, for the CI stack's web identity role, whose policy covers S3CLI_BUCKET
// only; STS (AWS's, or a rehearsal's gateway) checks the token against the account's provider.
func gitHubWebIdentitySource(ctx SpecContext, dir string) credSource {
	s := env.Settings
	if s.GitHubTokenURL == "" {
		Skip("S3CLI_WEB_IDENTITY_ROLE_ARN is set but no GitHub OIDC token can be requested here: ACTIONS_ID_TOKEN_REQUEST_URL is set only in a GitHub Actions job with permissions id-token: write")
	}
	w, err := credsources.GitHubWebIdentity(ctx, s.GitHubTokenURL, s.GitHubTokenAuth, s.WebIdentityRoleARN, env.Target.Endpoint(), dir)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: w.Env(), bucket: s.Bucket, secrets: func() []string { return []string{w.Token(), s.GitHubTokenAuth} },
		refused: func(ctx SpecContext) { forgedToken(ctx, w) }}
}

// forgedToken: with a token no trusted provider issued in place of w's, s3cli is refused.
func forgedToken(ctx SpecContext, w *credsources.WebIdentity) {
	wrong := filepath.Join(GinkgoT().TempDir(), "wrong-token")
	Expect(os.WriteFile(wrong, []byte("eyJhbGciOiJSUzI1NiJ9.e30.forged"), 0o600)).To(Succeed())
	s := w.Env()
	s["AWS_WEB_IDENTITY_TOKEN_FILE"] = wrong
	Expect(sourceRefusal(ctx, s)).To(gbytes.Say("InvalidIdentityToken"))
}

func chainedProfileSource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	_, issuer := newRole()
	p, err := credsources.WriteProfiles(ctx, issuer, env.Target.Config().Credentials, env.Target.Endpoint(), dir)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: p.Env(credsources.ChainedProfile), secrets: issuer.Secrets, refused: func(ctx SpecContext) {
		// The source profile alone is the host principal: what the chain adds is the role.
		Expect(os.ReadFile(p.ConfigFile())).To(ContainSubstring("role_arn = " + issuer.RoleARN()))
	}}
}

func processProfileSource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	_, issuer := newRole()
	p, err := credsources.WriteProfiles(ctx, issuer, env.Target.Config().Credentials, env.Target.Endpoint(), dir)
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: p.Env(credsources.ProcessProfile), secrets: issuer.Secrets, refused: func(ctx SpecContext) {
		sourceRefusal(ctx, p.Env("no-such-profile"))
	}}
}

func expiringSource(ctx SpecContext, newRole roleMaker, dir string) credSource {
	_, issuer := newRole()
	c, err := credsources.StartContainer(issuer, dir, deferStop, credsources.WithLifetime(expiringLifetime))
	Expect(err).NotTo(HaveOccurred())
	return credSource{env: c.Env(), secrets: issuer.Secrets, expiring: true,
		served:      func() int { n, _ := c.Served(); return n },
		firstExpiry: c.FirstExpiry,
	}
}

// sourceRefusal runs s3cli exists with a source's environment changed to something it must
// refuse and expects a failure; it returns the session's stderr.
func sourceRefusal(ctx SpecContext, vars map[string]string) *gbytes.Buffer {
	cfgPath := sourceConfig(env.Name("refused"))
	s := sourceRun(ctx, credsources.Environ(GinkgoT().TempDir(), env.Region, vars), nil, "-c", cfgPath, "exists", "any-key")
	Eventually(s).WithTimeout(roleCommandTimeout).Should(gexec.Exit())
	Expect(s.ExitCode()).To(Equal(1), "s3cli worked with credentials the source should have refused")
	return s.Err
}

// credentialSourceSpec is the table body: put, exists, get and delete on the allowed bucket
// succeed, the denied bucket is refused with AccessDenied (widened: it is not), the source's
// own refusal holds, and no key it handed out appears in the s3cli config or any output.
func credentialSourceSpec(ctx SpecContext, start sourceStart, widened bool) {
	var allowed, denied string
	var newRole roleMaker
	dir := GinkgoT().TempDir()
	ambient := env.Target.Capabilities().Restricted
	if ambient {
		allowed, denied = env.Settings.Bucket, env.Settings.DeniedBucket
		if allowed == "" {
			Skip("S3CLI_BUCKET is not set: the Lambda entry runs inside the test-runner function, which sets it from its event")
		}
	} else {
		var err error
		denied, err = env.CreateBucket(ctx, "src-denied", deferCleanup)
		Expect(err).NotTo(HaveOccurred())
		newRole = func() (*credsources.Role, *credsources.Issuer) {
			var err error
			allowed, err = env.CreateBucket(ctx, "src-allowed", deferCleanup)
			Expect(err).NotTo(HaveOccurred())
			policy := []string{allowed}
			if widened {
				policy = append(policy, denied)
			}
			role, err := credsources.NewRole(ctx, env, "src", policy, deferCleanup)
			Expect(err).NotTo(HaveOccurred())
			return role, credsources.NewIssuer(env.Clients.STS, role.ARN, "s3cli-source")
		}
	}
	src := start(ctx, newRole, dir)
	if src.ambient != ambient {
		Skip(fmt.Sprintf("this source runs %s", map[bool]string{true: "inside the test-runner function", false: "host side"}[src.ambient]))
	}
	if src.bucket != "" {
		if widened {
			Skip("the source's role is given (the CI stack's), so its policy is not the run's to widen; the moto targets run this control")
		}
		allowed = src.bucket
	}
	Expect(allowed).NotTo(BeEmpty(), "the source neither made the run's role nor named its role's bucket")
	environ := os.Environ()
	if !src.ambient {
		environ = credsources.Environ(filepath.Join(dir, "home"), env.Region, src.env)
		Expect(os.MkdirAll(filepath.Join(dir, "home"), 0o700)).To(Succeed())
	}

	cfgPath := sourceConfig(allowed)
	deniedCfg := sourceConfig(denied)
	var sessions []*gexec.Session
	s3cli := func(args ...string) *gexec.Session {
		s := sourceRun(ctx, environ, nil, append([]string{"-c", cfgPath}, args...)...)
		sessions = append(sessions, s)
		return s
	}

	content := make([]byte, 1024)
	if src.expiring {
		content = make([]byte, 3*(5<<20)+1024) // four parts of 5 MiB
	}
	_, _ = rand.Read(content)
	local, fetched := filepath.Join(dir, "upload"), filepath.Join(dir, "download")
	Expect(os.WriteFile(local, content, 0o600)).To(Succeed())
	key := "credential-sources/" + env.Name("object")

	if src.expiring {
		sessions = append(sessions, expiringPut(ctx, src, environ, cfgPath, allowed, content, key))
	} else {
		Eventually(s3cli("put", local, key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
	}
	Eventually(s3cli("exists", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
	Eventually(s3cli("get", key, fetched)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
	Expect(os.ReadFile(fetched)).To(Equal(content), "the object came back different")
	Eventually(s3cli("delete", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
	Eventually(s3cli("exists", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(3))

	if src.refused != nil {
		src.refused(ctx)
	}

	secrets := src.secrets()
	Expect(secrets).NotTo(BeEmpty(), "the source handed out no credentials, so s3cli found them elsewhere")
	for _, path := range []string{cfgPath, deniedCfg} {
		text, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		for _, secret := range secrets {
			Expect(string(text)).NotTo(ContainSubstring(secret), "a key is in the s3cli config %s", path)
		}
	}

	enforced := env.Target.Capabilities().EnforcesIAM
	if enforced && denied != "" {
		put := sourceRun(ctx, environ, nil, "-c", deniedCfg, "put", local, "credential-sources/"+env.Name("denied"))
		sessions = append(sessions, put)
		Eventually(put).WithTimeout(roleCommandTimeout).Should(gexec.Exit())
		if widened {
			Expect(put.ExitCode()).To(Equal(0), "with the policy widened to the denied bucket the put there still failed, so its refusal did not come from the policy:\n%s", put.Err.Contents())
		} else {
			Expect(put.ExitCode()).To(Equal(1), "the role put an object into a bucket outside its policy")
			Expect(put.Err).To(gbytes.Say("AccessDenied"))
		}
	}
	for _, s := range sessions {
		for _, secret := range secrets {
			Expect(string(s.Out.Contents())+string(s.Err.Contents())).NotTo(ContainSubstring(secret), "s3cli printed a key")
		}
	}
	if !enforced {
		Skip("the target does not enforce IAM policies, so the role's refusal on the denied bucket cannot be shown (everything else above passed)")
	}
	if denied == "" {
		Skip("S3CLI_DENIED_BUCKET is not set: the event named no bucket outside the role's policy")
	}
}

// expiringPut puts content with a multipart upload fed through a pipe: the first half goes in,
// the spec waits until the first credentials have expired, then the rest follows, so the
// upload must outlive them. It returns the finished session after checking that the SDK came
// back for new credentials.
func expiringPut(ctx SpecContext, src credSource, environ []string, cfgPath, bucket string, content []byte, key string) *gexec.Session {
	pr, pw, err := os.Pipe()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = pw.Close() })
	s := sourceRun(ctx, environ, pr, "-c", cfgPath, "put", "/dev/stdin", key)
	Expect(pr.Close()).To(Succeed()) // the child holds its own copy
	half := len(content) / 2
	_, err = pw.Write(content[:half])
	Expect(err).NotTo(HaveOccurred())
	Eventually(src.served).WithTimeout(roleCommandTimeout).Should(BeNumerically(">=", 1))
	first := src.firstExpiry()
	Eventually(time.Now).WithTimeout(expiringLifetime+30*time.Second).WithPolling(100*time.Millisecond).Should(BeTemporally(">", first.Add(time.Second)),
		"waiting until the first credentials have expired")
	// The SDK refreshes ahead of expiry, so it may have come back already; what counts is
	// that it comes back again for the parts sent after the first set expired.
	before := src.served()
	_, err = pw.Write(content[half:])
	Expect(err).NotTo(HaveOccurred())
	Expect(pw.Close()).To(Succeed())
	Eventually(s).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
	Expect(src.served()).To(BeNumerically(">", before), "the parts sent after the first credentials expired were signed without asking for new ones")
	fmt.Fprintf(GinkgoWriter, "the endpoint served %d sets of credentials during the put, %d of them after the first set expired\n", src.served(), src.served()-before)

	// No part lost: nothing is left open, and the object is whole (checked by the get after this).
	uploads, err := env.Clients.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	Expect(err).NotTo(HaveOccurred())
	Expect(uploads.Uploads).To(BeEmpty(), "a multipart upload was left open")
	head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	Expect(err).NotTo(HaveOccurred())
	parts := (len(content) + 5<<20 - 1) / (5 << 20)
	Expect(aws.ToString(head.ETag)).To(HaveSuffix(fmt.Sprintf(`-%d"`, parts)), "the object is not made of all %d parts", parts)
	Expect(aws.ToInt64(head.ContentLength)).To(Equal(int64(len(content))))
	return s
}

// sourceConfig writes an s3cli config for bucket on this target with credentials_source
// env_or_profile and no keys, and returns its path.
func sourceConfig(bucket string) string {
	cfg := env.S3CLIConfig(bucket)
	for _, k := range []string{"access_key_id", "secret_access_key", "session_token"} {
		delete(cfg, k)
	}
	cfg["credentials_source"] = "env_or_profile"
	cfg["upload_part_size"] = 5 << 20
	cfg["upload_concurrency"] = 1
	path, err := fixtures.WriteJSON(GinkgoT().TempDir(), "s3cli.json", cfg)
	Expect(err).NotTo(HaveOccurred())
	return path
}

// sourceRun starts s3cli with exactly environ (and stdin when given).
func sourceRun(ctx SpecContext, environ []string, stdin *os.File, args ...string) *gexec.Session {
	cmd := exec.CommandContext(ctx, env.S3CLI, args...)
	cmd.Env = environ
	if stdin != nil {
		cmd.Stdin = stdin
	}
	s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// deferStop is the credential-source fixtures' Stopper: each server stops when the node that
// started it ends.
var deferStop credsources.Stopper = func(stop func(context.Context) error) { DeferCleanup(stop) }
