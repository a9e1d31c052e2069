// Package contacts manages the people and companies a business deals with:
// contacts, accounts (companies, with a parent hierarchy), activities (calls,
// emails, meetings and notes: the communication history), custom field
// definitions, tags, full-text search and the timeline of a contact or account.
//
// It holds the domain rules (validation, normalisation of emails and phone
// numbers, custom field types) and declares the Store it needs; it never
// touches SQL. An application reaches it through crm.New, which wires it to a
// storage adapter.
package contacts
