package storage

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
