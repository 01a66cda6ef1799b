// Package pgtest runs a throw-away PostgreSQL server for tests and
// benchmarks: Debian's postgresql binaries (initdb, postgres), a fresh
// cluster in a temporary directory owned by an unprivileged user (PostgreSQL
// refuses to run as root, so under root the server runs as "nobody" through
// setpriv), listening on a loopback port only, trust authentication, and the
// server process stopped by PID at the end.
//
//	srv := pgtest.Start(t)                 // skipped if PostgreSQL is missing
//	url := srv.Database(t)                 // postgres://imchost@127.0.0.1:PORT/store?sslmode=disable
//
// `make test-deps` installs the postgresql package on Debian.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Superuser is the cluster's superuser name (trust authentication on
// loopback, no password).
const Superuser = "imchost"

// Server is a running PostgreSQL server.
type Server struct {
	// Host and Port are where it listens (127.0.0.1 only).
	Host string
	Port int
	// PID is the postgres process id.
	PID int
	// Dir holds the cluster (data/), the socket directory and the log.
	Dir string

	proc   *testutil.Proc
	log    *testutil.SyncBuffer
	mu     sync.Mutex
	nextDB int
}

// binDir finds the directory of initdb and postgres: $IMCHOST_PG_BIN, then
// Debian's /usr/lib/postgresql/<newest>/bin, then PATH.
func binDir() (string, error) {
	if d := os.Getenv("IMCHOST_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL is not installed (apt-get install postgresql, or `make test-deps`)")
}

// Available reports whether the PostgreSQL binaries are installed.
func Available() bool {
	_, err := binDir()
	return err == nil
}

// Start starts a server for the test (skipping it when PostgreSQL is not
// installed) and stops it in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	if !Available() {
		t.Skip("PostgreSQL is not installed (apt-get install postgresql, or `make test-deps`)")
	}
	s, err := StartServer()
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("PostgreSQL: %v", err)
		}
		if t.Failed() {
			t.Logf("PostgreSQL (pid %d) log:\n%s", s.PID, s.Log())
		}
	})
	return s
}

// StartServer creates a cluster in a new temporary directory and starts its
// server; Stop stops it and removes the directory.
func StartServer() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "imchost-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Dir: dir, log: &testutil.SyncBuffer{}}
	if err := s.start(bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// credential is who runs initdb and postgres: ourselves, or "nobody" when
// we are root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user 'nobody' to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
}

func (s *Server) start(bin string) error {
	cred, err := credential()
	if err != nil {
		return err
	}
	data := filepath.Join(s.Dir, "data")
	sock := filepath.Join(s.Dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	if cred != nil {
		// The server's user reaches its directories through ours.
		if err := os.Chmod(s.Dir, 0o755); err != nil {
			return err
		}
		for _, d := range []string{data, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", Superuser,
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.Dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// The port is picked by binding and releasing it; if another process
	// takes it meanwhile the server exits and the next attempt picks
	// another.
	for attempt := 0; ; attempt++ {
		err = s.launch(bin, data, sock, cred)
		if err == nil || attempt == 4 {
			return err
		}
	}
}

func (s *Server) launch(bin, data, sock string, cred *syscall.Credential) error {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.Port = probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	s.log.Reset()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+sock,
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if s.proc, err = testutil.StartProc(cmd); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.PID = cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := s.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.proc.Done():
			return fmt.Errorf("postgres exited: %v\n%s", cmd.ProcessState, s.Log())
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("postgres not ready after 30 s: %v\n%s", err, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// URL is the connection URL of database name.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", Superuser, s.Host, s.Port, name)
}

// CreateDatabase creates a new empty database and returns its URL.
func (s *Server) CreateDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Database creates a fresh database for the test (t1, t2, ...) and returns
// its URL.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.nextDB++
	name := fmt.Sprintf("t%d", s.nextDB)
	s.mu.Unlock()
	url, err := s.CreateDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// Log is what the server printed so far.
func (s *Server) Log() string {
	return s.log.String()
}

// Stop stops the server by its PID (SIGINT: PostgreSQL's fast shutdown,
// SIGKILL to the process after 10 s) and removes its directory.
func (s *Server) Stop() error {
	if s.proc == nil {
		return nil
	}
	s.proc.Stop(syscall.SIGINT, 10*time.Second)
	s.proc = nil
	return os.RemoveAll(s.Dir)
}
