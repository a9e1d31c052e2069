package contacts_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

func TestFillUpdate(t *testing.T) {
	var in contacts.UpdateContact
	err := storage.FillUpdate(&in, &contacts.Contact{}, map[string]any{
		"lifecycle": "customer", "tags": []any{"a", "b"}, "custom.tier": "gold", "job_title": "CTO",
	})
	if err != nil {
		t.Fatal(err)
	}
	if *in.Lifecycle != contacts.LifecycleCustomer || !cmp.Equal(*in.Tags, []string{"a", "b"}) || in.Custom["tier"] != "gold" || *in.JobTitle != "CTO" {
		t.Errorf("filled %+v", in)
	}
	err = storage.FillUpdate(&in, &contacts.Contact{}, map[string]any{"shoe_size": 3, "tags": 7, "id": "x"})
	var ve *storage.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 3 {
		t.Errorf("FillUpdate of bad fields = %v", err)
	}
}
