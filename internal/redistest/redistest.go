// Package redistest runs a real redis-server for tests: on a free loopback
// port, in a temporary directory, killed when the tests end (and by the
// kernel if the test binary dies first). Tests never use a mock of Redis.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// Start starts redis-server. Extra config lines ("appendonly yes") may be
// given. It fails with a plain message when redis-server is not installed:
// the README's test command installs it.
func Start(extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (the test command in the README installs it: apt-get install redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "migratebot-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := []string{
		"bind 127.0.0.1", "port " + strconv.Itoa(port), "dir " + dir, "save \"\"",
		"appendonly no", "protected-mode yes", "daemonize no", "loglevel warning",
	}
	conf = append(conf, extra...)
	if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, filepath.Join(dir, "redis.conf"))
	// If the test binary is killed, the kernel kills redis-server too: a
	// test run leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() {
		// Drain its output so it never blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir}
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer: %w", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		// Errors here mean it is already gone, which is what we want.
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

// Restart kills the server and starts it again on the same port and
// directory (so an append-only file, when configured, is replayed).
func (s *Server) Restart() error {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.SysProcAttr = s.cmd.SysProcAttr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	return s.waitReady(10 * time.Second)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	shared  *Server
	counter atomic.Int64
)

// Main is TestMain for a package whose tests use Redis: it starts one
// redis-server for the package, runs the tests and stops it.
func Main(m *testing.M) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Client returns a client of the package's server on a database of its own
// (flushed first), closed when the test ends. Tests that run in parallel
// are kept apart by their own key prefix: see Prefix.
func Client(t testing.TB) *goredis.Client {
	t.Helper()
	if shared == nil {
		t.Fatal("redistest.Client needs redistest.Main as the package's TestMain")
	}
	c := goredis.NewClient(&goredis.Options{Addr: shared.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix unique within the test binary, so tests can
// share one server without seeing each other's keys.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("t%d", counter.Add(1))
}

// Shared returns the package's server.
func Shared() *Server { return shared }
