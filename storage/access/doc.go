// Package access is who may see and change which record: the members and
// teams of a workspace (the host application's users as the CRM knows
// them; the CRM keeps no passwords), the roles that grant each member a
// scope per record type and action, and manual shares of one record with a
// member or a team.
//
// A call acts as a storage.Principal, which Service.Principal builds from a
// member; the store applies the principal's scopes in SQL to every query
// and checks every write (see docs/design.md, "Access control"). Records
// outside the read scope do not exist for the principal (ErrNotFound);
// records it can read but not change are ErrForbidden.
package access
