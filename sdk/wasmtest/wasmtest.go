// Package wasmtest runs a built IMC module through the real host (wazero,
// the load checks, grants, deadlines, memory cap) behind sdk/imctest's
// Harness, so that a test body written for imctest.New runs the module as
// well:
//
//	h := wasmtest.New(t, "../../out/wasm/imc-hello.wasm", imctest.Options{
//		Settings: map[string]string{"greeting": "hey"}})
//	first := h.Start()
//
// It is a package of its own so that sdk/imctest, which runs an IMC's Go
// code natively, needs only package capability and not the wasm runtime.
package wasmtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/tnccs"
)

// New loads the module at path into a real host (it must pass the load
// checks) and opens the connection. Options.Grants nil grants every host
// function.
func New(t testing.TB, path string, o imctest.Options) *imctest.Harness {
	t.Helper()
	return imctest.NewDriven(t, o, func(o imctest.Options, send tnccs.SendFunc) (imctest.Driver, error) {
		grants := o.Grants
		if grants == nil {
			grants = imctest.AllGrants()
		}
		h, err := host.New(hostConfig(path, o, grants), host.Options{Logger: o.Logger, Platform: o.Platform, CompilationCache: sharedCache(t)})
		if err != nil {
			return nil, err
		}
		d := &driver{h: h, conn: tnccs.ConnID(o.Conn)}
		if err := h.LoadIMCs(context.Background()); err != nil {
			h.Close(context.Background())
			return nil, err
		}
		if d.c, err = h.OpenConn(context.Background(), d.conn, send); err != nil {
			h.Close(context.Background())
			return nil, err
		}
		return d, nil
	})
}

// hostConfig is the host's configuration of the one module at path.
func hostConfig(path string, o imctest.Options, grants []string) *host.Config {
	cfg := &host.Config{IMCs: []host.IMCConfig{{
		Name: o.Name, ID: o.ID, Path: path, Grants: grants, Settings: o.Settings,
		Files: o.Files, MemoryPages: o.MemoryPages, CallTimeout: o.CallTimeout,
	}}}
	cfg.Limits.MaxMessageSize = o.MaxMessageSize
	return cfg
}

// ExactGrants checks a module's grant list (the one its README documents
// and config.toml gives it): the module at path loads into the real host
// with o.Grants, and is refused without any one of them for importing that
// host function, so the list holds nothing the module does not import.
// The other Options are New's (Name, Settings, Platform or Root, ...); the
// host's log is discarded unless o.Logger is set.
func ExactGrants(t testing.TB, path string, o imctest.Options) {
	t.Helper()
	if len(o.Grants) == 0 {
		t.Fatal("wasmtest.ExactGrants: no grants to check")
	}
	if o.Name == "" {
		o.Name = "test"
	}
	if o.Platform.System == nil && o.Root != "" {
		o.Platform.System = capability.NewSystem(o.Root)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	ctx := context.Background()
	load := func(grants []string) error {
		h, err := host.New(hostConfig(path, o, grants), host.Options{Logger: o.Logger, Platform: o.Platform, CompilationCache: sharedCache(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		if err := h.LoadIMCs(ctx); err != nil {
			return err
		}
		if len(h.List()) == 0 {
			return errors.New("no module loaded")
		}
		return nil
	}
	if err := load(o.Grants); err != nil {
		t.Fatalf("refused with its grants %v: %v", o.Grants, err)
	}
	for i, g := range o.Grants {
		err := load(slices.Delete(slices.Clone(o.Grants), i, i+1))
		if err == nil || !strings.Contains(err.Error(), "imports imchost."+g+",") {
			t.Errorf("without the %s grant: %v", g, err)
		}
	}
}

// driver is the imctest.Driver of one module in a real host.
type driver struct {
	h    *host.Host
	c    *host.Conn
	conn tnccs.ConnID
}

func (d *driver) ChangeState(s abi.ConnState) { d.c.ChangeState(context.Background(), s) }
func (d *driver) BeginHandshake()             { d.c.BeginHandshake(context.Background()) }
func (d *driver) BatchEnding()                { d.c.BatchEnding(context.Background()) }
func (d *driver) Alive() bool                 { return len(d.c.IMCs()) > 0 }

func (d *driver) Receive(m imc.Message) {
	d.c.Receive(context.Background(), tnccs.PAMessage{
		Vendor:    m.Type.Vendor,
		Subtype:   m.Type.Subtype,
		Collector: uint16(m.Collector),
		Validator: uint16(m.Validator),
		Exclusive: m.Exclusive,
		Body:      slices.Clone(m.Body),
	})
}

func (d *driver) Subscriptions() []abi.MsgType {
	if l := d.h.List(); len(l) > 0 {
		return l[len(l)-1].Subscriptions
	}
	return nil
}

func (d *driver) Reports() []abi.Report {
	var out []abi.Report
	for _, r := range d.h.Reports(d.conn) {
		out = append(out, r.Report)
	}
	return out
}

func (d *driver) Close() {
	d.c.Close(context.Background())
	d.h.Close(context.Background())
}
