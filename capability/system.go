package capability

// The system family: os_release, system_facts, packages and symlinks, read
// through the Platform's System.

import (
	"context"
	"errors"

	"github.com/imchost/imchost/abi"
)

// sys returns the platform's System, or ErrUnavailable.
func (s *Session) sys() (System, error) {
	if s.c.Platform.System == nil {
		return nil, ErrUnavailable
	}
	return s.c.Platform.System, nil
}

func (s *Session) osRelease(context.Context, []byte) ([]byte, error) {
	sys, err := s.sys()
	if err != nil {
		return nil, err
	}
	return sys.OSRelease()
}

func (s *Session) systemFacts(context.Context, []byte) ([]byte, error) {
	sys, err := s.sys()
	if err != nil {
		return nil, err
	}
	v, err := sys.SystemFacts()
	if err != nil {
		return nil, err
	}
	return abi.AppendSystemFacts(nil, v), nil
}

// packages is read once per connection: however often an IMV asks, the
// package database is parsed once.
func (s *Session) packages(context.Context, []byte) ([]byte, error) {
	sys, err := s.sys()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := s.packageList
	s.mu.Unlock()
	if out != nil {
		return out, nil
	}
	v, err := sys.Packages()
	if err != nil {
		return nil, err
	}
	out = abi.AppendPackages(nil, v)
	s.mu.Lock()
	s.packageList = out
	s.mu.Unlock()
	return out, nil
}

func (s *Session) symlinks(_ context.Context, in []byte) ([]byte, error) {
	sys, err := s.sys()
	if err != nil {
		return nil, err
	}
	if len(in) > abi.MaxSymlinkDirLen || len(in) == 0 || in[0] != '/' {
		return nil, fail(abi.FnSymlinks, abi.StatusInvalid, errors.New("directory must be an absolute path"))
	}
	v, err := sys.Symlinks(string(in))
	if err != nil {
		return nil, err
	}
	return abi.AppendSymlinks(nil, v), nil
}
