-- Products, price books, quotes and invoices.
-- crm:legacy 6

CREATE TABLE crm_products (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    sku               TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    active            INTEGER NOT NULL DEFAULT 0,
    tax_category      TEXT NOT NULL DEFAULT '',
    tags              TEXT
);
CREATE UNIQUE INDEX crm_products_ws_id ON crm_products (workspace_id, id);
CREATE INDEX crm_products_ws_name ON crm_products (workspace_id, name, id);
CREATE UNIQUE INDEX crm_products_sku_uq ON crm_products (workspace_id, sku) WHERE sku <> '';

CREATE TABLE crm_price_books (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    is_standard       INTEGER NOT NULL DEFAULT 0,
    active            INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_price_books_ws_id ON crm_price_books (workspace_id, id);
CREATE UNIQUE INDEX crm_price_books_name_uq ON crm_price_books (workspace_id, name);
CREATE UNIQUE INDEX crm_price_books_standard_uq ON crm_price_books (workspace_id) WHERE is_standard = 1;

CREATE TABLE crm_price_entries (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    price_book_id     TEXT NOT NULL DEFAULT '',
    product_id        TEXT NOT NULL DEFAULT '',
    price_amount      INTEGER NOT NULL DEFAULT 0,
    price_currency    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_price_entries_ws_id ON crm_price_entries (workspace_id, id);
CREATE INDEX crm_price_entries_ws_product ON crm_price_entries (workspace_id, product_id);
CREATE UNIQUE INDEX crm_price_entries_uq ON crm_price_entries (workspace_id, price_book_id, product_id, price_currency);

CREATE TABLE crm_quotes (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    number            TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    opportunity_id    TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    price_book_id     TEXT NOT NULL DEFAULT '',
    currency          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    valid_until       TEXT NOT NULL DEFAULT '',
    lines             TEXT,
    gross             INTEGER NOT NULL DEFAULT 0,
    discount          INTEGER NOT NULL DEFAULT 0,
    net               INTEGER NOT NULL DEFAULT 0,
    tax               INTEGER NOT NULL DEFAULT 0,
    total             INTEGER NOT NULL DEFAULT 0,
    notes             TEXT NOT NULL DEFAULT '',
    sent_at           TEXT NOT NULL DEFAULT '',
    decided_at        TEXT NOT NULL DEFAULT '',
    invoice_id        TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_quotes_ws_id ON crm_quotes (workspace_id, id);
CREATE INDEX crm_quotes_ws_opportunity ON crm_quotes (workspace_id, opportunity_id);
CREATE INDEX crm_quotes_ws_account ON crm_quotes (workspace_id, account_id);
CREATE INDEX crm_quotes_ws_status ON crm_quotes (workspace_id, status, id);
CREATE INDEX crm_quotes_ws_owner ON crm_quotes (workspace_id, owner_id);
CREATE INDEX crm_quotes_ws_team ON crm_quotes (workspace_id, team_id);
CREATE INDEX crm_quotes_ws_created ON crm_quotes (workspace_id, created_at, id);
CREATE UNIQUE INDEX crm_quotes_number_uq ON crm_quotes (workspace_id, number);

CREATE TABLE crm_invoices (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    number            TEXT NOT NULL DEFAULT '',
    quote_id          TEXT NOT NULL DEFAULT '',
    opportunity_id    TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    currency          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    issue_date        TEXT NOT NULL DEFAULT '',
    due_date          TEXT NOT NULL DEFAULT '',
    lines             TEXT,
    gross             INTEGER NOT NULL DEFAULT 0,
    discount          INTEGER NOT NULL DEFAULT 0,
    net               INTEGER NOT NULL DEFAULT 0,
    tax               INTEGER NOT NULL DEFAULT 0,
    total             INTEGER NOT NULL DEFAULT 0,
    term_days         INTEGER NOT NULL DEFAULT 0,
    paid              INTEGER NOT NULL DEFAULT 0,
    payments          TEXT,
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_invoices_ws_id ON crm_invoices (workspace_id, id);
CREATE INDEX crm_invoices_ws_account ON crm_invoices (workspace_id, account_id);
CREATE INDEX crm_invoices_ws_status ON crm_invoices (workspace_id, status, id);
CREATE INDEX crm_invoices_ws_due ON crm_invoices (workspace_id, due_date, id);
CREATE INDEX crm_invoices_ws_owner ON crm_invoices (workspace_id, owner_id);
CREATE INDEX crm_invoices_ws_team ON crm_invoices (workspace_id, team_id);
CREATE INDEX crm_invoices_ws_created ON crm_invoices (workspace_id, created_at, id);
CREATE UNIQUE INDEX crm_invoices_number_uq ON crm_invoices (workspace_id, number);
CREATE UNIQUE INDEX crm_invoices_quote_uq ON crm_invoices (workspace_id, quote_id) WHERE quote_id <> '';
