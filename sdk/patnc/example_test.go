package patnc_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// The OS IMC's first PA-TNC message (IETF/Operating System subtype), as the
// strongSwan 6.0.6 OS IMC sent it in the recorded exchange (testdata/os_imc_first_message.hex).
// The message ID is random in real use.
func ExampleMessage_Marshal() {
	lastBoot := time.Date(2026, 11, 26, 18, 51, 8, 0, time.UTC)
	msg := patnc.Message{
		ID: 0xa5a2f88f,
		Attrs: []patnc.Attr{
			&patnc.ProductInfo{VendorID: abi.PENDebian, ProductID: 0, Name: "Debian"},
			&patnc.StringVersion{Version: "12 x86_64"},
			&patnc.NumericVersion{Major: 12, Minor: 0},
			&patnc.OpStatus{
				Status:  patnc.OpStatusOperational,
				Result:  patnc.OpResultSuccessful,
				LastUse: patnc.NewDateTime(lastBoot),
			},
			&patnc.ForwardingEnabled{Status: patnc.ForwardingStatusDisabled},
			&patnc.FactoryDefaultPwdEnabled{Enabled: false},
			&patnc.ITADeviceID{ID: "d41bcf69169cbbcbb9fa29a895264bff2224fc95"},
		},
	}
	body, err := msg.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(body), "bytes")
	for _, a := range msg.Attrs {
		fmt.Println(a.Type())
	}
	fmt.Printf("%x\n", body[:31]) // header + Product Information
	recorded, _ := hex.DecodeString("01000000a5a2f88f000000000000000200000017002572000044656269616e00" +
		"0000000000000400000018093132207838365f36340000000000000000000300" +
		"00001c0000000c00000000000000000000000000000000000000050000002403" +
		"010000323032362d31312d32365431383a35313a30385a000000000000000b00" +
		"00001000000000000000000000000c00000010000000000000902a0000000800" +
		"0000346434316263663639313639636262636262396661323961383935323634" +
		"6266663232323466633935")
	fmt.Println("identical to strongSwan's:", bytes.Equal(body, recorded))
	// Output:
	// 203 bytes
	// 'IETF/Product Information' 0x000000/0x00000002
	// 'IETF/String Version' 0x000000/0x00000004
	// 'IETF/Numeric Version' 0x000000/0x00000003
	// 'IETF/Operational Status' 0x000000/0x00000005
	// 'IETF/Forwarding Enabled' 0x000000/0x0000000b
	// 'IETF/Factory Default Password Enabled' 0x000000/0x0000000c
	// 'ITA-HSR/Device ID' 0x00902a/0x00000008
	// 01000000a5a2f88f000000000000000200000017002572000044656269616e
	// identical to strongSwan's: true
}

// Parsing the OS IMV's assessment (batch 02 of the recorded exchange).
func ExampleParseMessage() {
	body := []byte{
		0x01, 0x00, 0x00, 0x00, 0x7a, 0xc3, 0x97, 0x44, // PA-TNC header, ID 0x7ac39744
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x10, // IETF/Assessment Result, 16 bytes
		0x00, 0x00, 0x00, 0x00, // compliant
	}
	msg, err := patnc.ParseMessage(body)
	var perr *patnc.Error
	if errors.As(err, &perr) {
		// reply with perr.ErrorAttr() in a PA-TNC message to the sender
		fmt.Println(perr)
		return
	}
	fmt.Printf("PA-TNC message 0x%08x\n", msg.ID)
	for _, a := range msg.Attrs {
		switch a := a.(type) {
		case *patnc.AssessmentResult:
			fmt.Println("assessment:", a.Result)
		case *patnc.RemediationInstructions:
			fmt.Println("remediation:", a.URI, a.Text)
		case *patnc.Unknown:
			// skip: not NOSKIP, or ParseMessage would have failed
		}
	}
	// Output:
	// PA-TNC message 0x7ac39744
	// assessment: compliant
}

// An unknown attribute with NOSKIP is answered with Attribute Type Not
// Supported.
func ExampleError_ErrorAttr() {
	body := []byte{
		0x01, 0x00, 0x00, 0x00, 0xa1, 0xb2, 0xc3, 0xd4,
		0x80, 0x00, 0x55, 0x97, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	}
	_, err := patnc.ParseMessage(body)
	var perr *patnc.Error
	if errors.As(err, &perr) {
		reply := patnc.Message{ID: 1, Attrs: []patnc.Attr{perr.ErrorAttr()}}
		out, _ := reply.Marshal()
		fmt.Println(perr.Code)
		fmt.Printf("%x\n", out[8:])
	}
	// Output:
	// attribute type not supported
	// 000000000000000800000024000000000000000301000000a1b2c3d4800055977f000000
}

// The segmentation contract strongSwan negotiates over EAP: the IMV offers 65490 - 24, the
// IMC with a 32722-byte limit lowers it to 32698.
func ExampleRespondToContract() {
	_, req := patnc.NewContractRequest(65490)
	c, resp := patnc.RespondToContract(req, 32722)
	fmt.Println(req.MaxMsgSize == patnc.NoLimit, req.MaxSegSize)
	fmt.Println(resp.MaxMsgSize == patnc.NoLimit, resp.MaxSegSize)
	fmt.Println(c)
	// Output:
	// true 65466
	// true 32698
	// no message size limit, maximum segment size of 32698 bytes
}
