package retention_test

import (
	"fmt"
	"time"

	"github.com/crmkit/crm/marketing/retention"
)

// A customer who bought recently (R 5) but rarely and little (F 1, M 2)
// is a potential loyalist; one who bought much and often long ago is one
// the business cannot lose.
func ExampleSegmentOf() {
	fmt.Println(retention.SegmentOf(5, 1, 2))
	fmt.Println(retention.SegmentOf(1, 5, 5))
	// Output:
	// potential_loyalist
	// cant_lose
}

// A customer who buys every 30 days is at no risk until a purchase is
// due, and at 0.63 when a whole interval has passed since.
func ExampleRiskAt() {
	last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	month := 30 * 24 * time.Hour
	for _, silent := range []time.Duration{month / 2, 2 * month, 3 * month} {
		fmt.Printf("%.0f days: %.2f\n", silent.Hours()/24, retention.RiskAt(last, month, last.Add(silent)))
	}
	// Output:
	// 15 days: 0.00
	// 60 days: 0.63
	// 90 days: 0.86
}
