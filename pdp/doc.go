// Package pdp is imchost's own Policy Decision Point: a small, strict TNC
// server whose verdicts match what strongSwan's PDP (tnc-pdp with the OS and
// Attestation IMVs) decides. The tests, `make run` (the demo) and anyone who
// wants a small TNC server use it.
//
// A Server accepts PT-TLS connections (tnccs server role), runs PB-TNC and
// dispatches PA messages by subtype to two native IMVs:
//
//   - the OS IMV (ID 1, IETF/Operating System): product, version, forwarding,
//     factory default password and device ID checks;
//   - the Attestation IMV (ID 2, TCG/PTS): the PTS exchange in strongSwan's
//     order and the verification of the TPM 2.0 quote and the boot evidence
//     against reference measurements learned on first contact.
//
// Their verdicts are combined with strongSwan's recommendation policy
// "default" into PB-Assessment-Result, PB-Access-Recommendation and
// PB-Reason-String. Products, devices, AK keyids and reference measurements
// live in a Store: an embedded SQLite file by default, or a PostgreSQL
// database that several PDP replicas share (OpenStore).
//
// # Running one
//
//	cert, roots, _ := pdp.SelfSignedCertificate(24*time.Hour, "127.0.0.1")
//	srv, err := pdp.New(pdp.Config{
//		Addr:         "127.0.0.1:0",             // or ":271"
//		Certificates: []tls.Certificate{cert},   // clients verify with roots
//		Users:        map[string]string{"user": "secret"}, // optional SASL PLAIN
//		DBPath:       "/var/lib/imchost/pdp.db", // "" = in memory
//		Policy:       pdp.DefaultPolicy(),       // learn on first contact
//		Logger:       log,                       // "pdp", "imv.os", "imv.attestation"
//	})
//	go srv.Serve(ctx)
//	defer srv.Close()
//	outs, _ := srv.WaitOutcomes(ctx, 1) // or Config.OnOutcome
//	fmt.Println(outs[0].Verdict.Access, outs[0].Verdict.Reasons)
//
// Policy is seeded through Config.Policy (allowed products, trusted AK
// keyids, what is learned) and through Server.Store (AllowProduct, TrustAK,
// SetMeasurements) before or while serving.
//
// pdp imports tnccs, sdk/patnc and the verification side of tpmhost; never
// host, wazero or the IMCs.
package pdp
