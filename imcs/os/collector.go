package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// collector builds the OS attributes for one outgoing message, asking the
// host for the system facts at most once (strongSwan's add_* functions).
type collector struct {
	o        *OSIMC
	facts    abi.SystemFacts
	factsErr error
	fetched  bool
}

func (o *OSIMC) collector() *collector { return &collector{o: o} }

func (c *collector) systemFacts() (abi.SystemFacts, error) {
	if !c.fetched {
		c.facts, c.factsErr = c.o.h.SystemFacts()
		c.fetched = true
		if c.factsErr != nil {
			c.o.logf(abi.LogError, "could not get system facts: %v", c.factsErr)
		}
	}
	return c.facts, c.factsErr
}

// productInfo is IETF Product Information: the distribution's vendor PEN
// (0 if none), product ID 0 and the OS name.
func (c *collector) productInfo() patnc.Attr {
	return &patnc.ProductInfo{VendorID: c.o.info.Type.vendor(), Name: c.o.info.Name}
}

// stringVersion is IETF String Version: "<VERSION_ID> <machine>" and empty
// build and configuration strings.
func (c *collector) stringVersion() patnc.Attr {
	return &patnc.StringVersion{Version: c.o.info.Version}
}

// numericVersion is IETF Numeric Version: major and minor from the version
// string, everything else 0.
func (c *collector) numericVersion() patnc.Attr {
	major, minor := numericVersion(c.o.info.Version)
	c.o.logf(abi.LogInfo, "operating system numeric version is %d.%d", major, minor)
	return &patnc.NumericVersion{Major: major, Minor: minor}
}

// opStatus is IETF Operational Status: operational, successful, last use =
// the last boot (the epoch when unknown).
func (c *collector) opStatus() patnc.Attr {
	var boot int64
	if f, err := c.systemFacts(); err == nil && f.BootTime > 0 {
		boot = f.BootTime
		c.o.logf(abi.LogInfo, "%s", lastBootLog(boot, c.o.now()))
	}
	return &patnc.OpStatus{
		Status:  patnc.OpStatusOperational,
		Result:  patnc.OpResultSuccessful,
		LastUse: patnc.DateTimeFromUnix(boot),
	}
}

// forwardingEnabled is IETF Forwarding Enabled: enabled when IPv4 or IPv6
// forwarding is on, unknown when the host cannot tell.
func (c *collector) forwardingEnabled() patnc.Attr {
	status := patnc.ForwardingStatusUnknown
	if f, err := c.systemFacts(); err == nil {
		status = forwarding(f)
		c.o.logf(abi.LogInfo, "IPv4 forwarding is %s", fwdStatusName(boolForwarding(f.IPv4Forwarding)))
		c.o.logf(abi.LogInfo, "IPv6 forwarding is %s", fwdStatusName(boolForwarding(f.IPv6Forwarding)))
	} else {
		c.o.logf(abi.LogInfo, "IPv4 forwarding is %s", fwdStatusName(status))
	}
	return &patnc.ForwardingEnabled{Status: status}
}

// defaultPwdEnabled is IETF Factory Default Password Enabled, from the
// default_password_enabled setting.
func (c *collector) defaultPwdEnabled() patnc.Attr {
	state := "disabled"
	if c.o.cfg.defaultPwd {
		state = "enabled"
	}
	c.o.logf(abi.LogInfo, "factory default password is %s", state)
	return &patnc.FactoryDefaultPwdEnabled{Enabled: c.o.cfg.defaultPwd}
}

// deviceID is the ITA-HSR Device ID, or nil when there is none. Sources in
// strongSwan's order: the device_id setting, the keyid
// of the TPM key at device_handle, the machine-id.
func (c *collector) deviceID() patnc.Attr {
	id := c.o.cfg.deviceID
	if id == "" && c.o.cfg.deviceHandle != 0 {
		aik, err := c.o.h.TPMAIK(c.o.cfg.deviceHandle)
		switch {
		case err != nil:
			c.o.logf(abi.LogError, "could not get the public key of TPM key 0x%08x: %v", c.o.cfg.deviceHandle, err)
		case !validDeviceID(aik.KeyID):
			c.o.logf(abi.LogError, "TPM key 0x%08x has no keyid", c.o.cfg.deviceHandle)
		default:
			id = aik.KeyID
		}
	}
	if id == "" {
		if f, err := c.systemFacts(); err == nil && validDeviceID(f.MachineID) {
			id = f.MachineID
		}
	}
	if id == "" {
		c.o.logf(abi.LogInfo, "no device ID available")
		return nil
	}
	c.o.logf(abi.LogInfo, "device ID is %s", id)
	return &patnc.ITADeviceID{ID: id}
}

// installedPackages is IETF Installed Packages with every package the host
// lists; an empty attribute when it lists none or fails (strongSwan always
// sends one). A package whose name or version exceeds the 8-bit length is
// left out; more than 65535 packages take several attributes.
func (c *collector) installedPackages() []patnc.Attr {
	pkgs, err := c.o.h.Packages()
	if err != nil {
		c.o.logf(abi.LogError, "could not list the installed packages: %v", err)
	}
	list := make([]patnc.Package, 0, len(pkgs))
	for _, p := range pkgs {
		if len(p.Name) > 255 || len(p.Version) > 255 || p.Name == "" {
			c.o.logf(abi.LogInfo, "package '%.40s' skipped: name or version too long", p.Name)
			continue
		}
		c.o.logf(abi.LogDebug, "package '%s' (%s)", p.Name, p.Version)
		list = append(list, patnc.Package{Name: p.Name, Version: p.Version})
	}
	var out []patnc.Attr
	for len(list) > 0xffff {
		out = append(out, &patnc.InstalledPackages{Packages: list[:0xffff]})
		list = list[0xffff:]
	}
	return append(out, &patnc.InstalledPackages{Packages: list})
}

// requested builds the answer to an IETF Attribute Request: the attributes
// of the OS IMC in the requested order; other types are ignored, as in
// strongSwan.
func (c *collector) requested(types []patnc.Type) []patnc.Attr {
	var out []patnc.Attr
	for _, t := range types {
		switch t {
		case patnc.TypeProductInfo:
			out = append(out, c.productInfo())
		case patnc.TypeStringVersion:
			out = append(out, c.stringVersion())
		case patnc.TypeNumericVersion:
			out = append(out, c.numericVersion())
		case patnc.TypeOpStatus:
			out = append(out, c.opStatus())
		case patnc.TypeForwardingEnabled:
			out = append(out, c.forwardingEnabled())
		case patnc.TypeFactoryDefaultPwd:
			out = append(out, c.defaultPwdEnabled())
		case patnc.TypeInstalledPackages:
			out = append(out, c.installedPackages()...)
		case patnc.TypeITADeviceID:
			if a := c.deviceID(); a != nil {
				out = append(out, a)
			}
		default:
			c.o.logf(abi.LogDebug, "attribute type %s not supported, not sent", t)
		}
	}
	return out
}
