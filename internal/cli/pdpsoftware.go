package cli

import (
	"context"
	"fmt"

	"github.com/imchost/imchost/pdp"
)

// cmdPDPSoftware lists what the SWIMA IMV stored for a device: its software
// and its newest software events.
func cmdPDPSoftware(e *env, args []string) int {
	fs := newFlags(e, "pdp software", "pdp software --db DB [--events N] DEVICE-ID")
	db := fs.String("db", "", "the PDP's database: a SQLite file or postgres://USER@HOST/NAME")
	events := fs.Int("events", 20, "also list the device's newest N software events (0: none)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *db == "" || fs.NArg() != 1 {
		return usageErr(e, "pdp software", "want --db DB and one device ID (the ITA Device ID the OS IMC reports)")
	}
	if *events < 0 {
		return usageErr(e, "pdp software", "--events must be 0 or more")
	}
	st, err := pdp.OpenStore(*db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	ctx := context.Background()
	d, err := st.Device(ctx, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	if d == nil {
		return fail(e, fmt.Errorf("no device %q in %s", fs.Arg(0), *db))
	}
	epoch, last, ok, err := st.SWState(ctx, d.ID)
	if err != nil {
		return fail(e, err)
	}
	if !ok {
		fmt.Fprintf(e.stdout, "device %s (%s): no software inventory received\n", d.Value, d.Product)
		return exitOK
	}
	pkgs, err := st.SWPackages(ctx, d.ID)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "device %s (%s): %d software records, EID epoch 0x%08x, last EID %d\n", d.Value, d.Product, len(pkgs), epoch, last)
	for _, p := range pkgs {
		fmt.Fprintf(e.stdout, "  %-40s %-30s %s\n", p.Name, p.Version, p.SWID)
	}
	if *events == 0 {
		return exitOK
	}
	evs, err := st.SWEvents(ctx, d.ID, *events)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "newest %d software events:\n", len(evs))
	for _, ev := range evs {
		fmt.Fprintf(e.stdout, "  %s  EID %-6d %-8s %s\n", ev.Time, ev.EID, swAction(ev.Action), ev.SWID)
	}
	return exitOK
}

func swAction(a uint8) string {
	switch a {
	case 1:
		return "created"
	case 2:
		return "deleted"
	case 3:
		return "altered"
	}
	return fmt.Sprintf("action %d", a)
}
