package marketing

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
)

func TestParseReport(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file string
		want *Report
	}{
		{"postfix-hard.eml", &Report{Kind: ReportBounce, MessageID: "MSGID@acme.example", Recipients: []string{"nobody@example.net"},
			Bounces: []Bounce{{Recipient: "nobody@example.net", Action: "failed", Status: "5.1.1", Hard: true,
				Diagnostic: "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in local recipient table"}}}},
		{"soft-multi.eml", &Report{Kind: ReportBounce, MessageID: "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000@acme.example",
			Recipients: []string{"full@example.org"}, Bounces: []Bounce{
				{Recipient: "full@example.org", Action: "delayed", Status: "4.2.2",
					Diagnostic: "452 4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to https://support.example/full"},
				{Recipient: "over@example.org", Action: "failed", Status: "4.4.7", Diagnostic: "421 4.4.7 Message expired"},
				{Recipient: "gone@example.org", Action: "failed", Status: "5.2.1", Hard: true,
					Diagnostic: "550 5.2.1 The email account that you tried to reach is disabled"}}}},
		{"exim-base64.eml", &Report{Kind: ReportBounce, Bounces: []Bounce{{Recipient: "dan@example.com", Action: "failed",
			Status: "5.0.0", Hard: true, Diagnostic: "550 mailbox unavailable"}}}},
		{"arf-abuse.eml", &Report{Kind: ReportComplaint, FeedbackType: "abuse", Recipients: []string{"angry@example.net"},
			MessageID: "MSGID@acme.example"}},
	} {
		f, err := os.Open(filepath.Join("testdata", "reports", c.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseReport(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.file, d)
		}
	}
	f, err := os.Open(filepath.Join("testdata", "reports", "plain.eml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ParseReport(f); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("a plain message: %v, want ErrInvalid", err)
	}
}
