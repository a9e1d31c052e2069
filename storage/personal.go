package storage

import (
	"context"
	"time"
)

// PersonalData says where a record type keeps personal data, for the
// GDPR's access requests (crm.CRM.PersonalData), erasure (Erase) and
// anonymisation (Anonymise). Every record type declares it: a type whose
// records name no person says None.
type PersonalData struct {
	// None declares that the records hold no personal data (a pipeline, a
	// product, a custom field definition).
	None bool
	// Owned declares that the module's own code finds and forgets the
	// person's records of this type: the contacts module for the contact
	// itself, its activities and its consents; the sales module for leads.
	Owned bool
	// ContactField names the field holding the ID of the contact a record
	// is about ("contact_id"): the records whose field holds the person's
	// ID are the person's. They are listed in the person's access-request
	// document and handled by Erase as Erase says.
	ContactField string
	// Fields are the fields that hold personal data beside ContactField,
	// which an anonymisation empties.
	Fields []string
	// Erase is what erasing the person does to the records that name it
	// in ContactField. Default: EraseKeep.
	Erase EraseAction
}

// Declared reports whether p says anything: a record type whose
// PersonalData is the zero value has not declared where it keeps personal
// data.
func (p PersonalData) Declared() bool {
	return p.None || p.Owned || p.ContactField != ""
}

// EraseAction is what erasing a person does to a record that names it.
type EraseAction string

// The erase actions.
const (
	// EraseKeep keeps the record as it is: it holds the contact's ID,
	// which names no one once the contact is erased (deals, orders and
	// invoices stay for the books).
	EraseKeep EraseAction = ""
	// EraseFields empties the record's personal Fields and keeps it.
	EraseFields EraseAction = "fields"
	// EraseRecord deletes the record.
	EraseRecord EraseAction = "record"
)

// Person is whom an access request, an erasure or an anonymisation is
// about: a contact and its email addresses (records of other modules may
// name it by either).
type Person struct {
	// ContactID is the contact's ID.
	ContactID string
	// Emails are the contact's addresses, normalised (lower case).
	Emails []string
}

// PersonalOwner is implemented by the service of a module whose record
// types declare PersonalData.Owned: it names them, so that a check can
// tell that every type holding personal data has code that handles it.
type PersonalOwner interface {
	// PersonalTypes returns the Owned record types the module handles.
	PersonalTypes() []string
}

// PersonalDataProvider is a PersonalOwner other than the contacts module
// itself: crm.CRM.PersonalData, Erase and Anonymise call it for every
// person, in the call's transaction.
type PersonalDataProvider interface {
	PersonalOwner
	// PersonalRecords returns the module's records about p, by record type,
	// for p's access-request document.
	PersonalRecords(ctx context.Context, p Person) (map[string]any, error)
	// ForgetPerson deletes the module's records about p, or with anonymise
	// empties their personal data and keeps them, and scrubs the values of
	// their past change events. It returns how many records of each type
	// it handled.
	ForgetPerson(ctx context.Context, p Person, anonymise bool) (map[string]int, error)
}

// RetentionProvider is implemented by the service of a module that applies
// a retention policy to record types of its own (crm.CRM.ApplyRetention).
type RetentionProvider interface {
	// Inactive returns up to limit records of recordType not changed, and
	// without an activity, since cutoff, oldest first; with anonymise it
	// leaves out those anonymised already.
	Inactive(ctx context.Context, recordType string, cutoff time.Time, anonymise bool, limit int) ([]string, error)
	// ForgetRecord deletes the record id of recordType, or anonymises it,
	// and scrubs its past change events, in one transaction.
	ForgetRecord(ctx context.Context, recordType, id string, anonymise bool) error
}
