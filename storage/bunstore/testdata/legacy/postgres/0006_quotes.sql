-- Products, price books, quotes, invoices, and gap-free number sequences.

CREATE TABLE crm_sequences (
    workspace_id TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    value        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

CREATE TABLE crm_products (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    sku               TEXT COLLATE "C" NOT NULL DEFAULT '',
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    active            BOOLEAN NOT NULL DEFAULT false,
    tax_category      TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags              JSONB
);
CREATE UNIQUE INDEX crm_products_ws_id ON crm_products (workspace_id, id);
CREATE INDEX crm_products_ws_name ON crm_products (workspace_id, name, id);
CREATE UNIQUE INDEX crm_products_sku_uq ON crm_products (workspace_id, sku) WHERE sku <> '';

CREATE TABLE crm_price_books (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_standard       BOOLEAN NOT NULL DEFAULT false,
    active            BOOLEAN NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX crm_price_books_ws_id ON crm_price_books (workspace_id, id);
CREATE UNIQUE INDEX crm_price_books_name_uq ON crm_price_books (workspace_id, name);
CREATE UNIQUE INDEX crm_price_books_standard_uq ON crm_price_books (workspace_id) WHERE is_standard = TRUE;

CREATE TABLE crm_price_entries (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    price_book_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    product_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    price_amount      BIGINT NOT NULL DEFAULT 0,
    price_currency    TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_price_entries_ws_id ON crm_price_entries (workspace_id, id);
CREATE INDEX crm_price_entries_ws_product ON crm_price_entries (workspace_id, product_id);
CREATE UNIQUE INDEX crm_price_entries_uq ON crm_price_entries (workspace_id, price_book_id, product_id, price_currency);

CREATE TABLE crm_quotes (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    number            TEXT COLLATE "C" NOT NULL DEFAULT '',
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    opportunity_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    price_book_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    valid_until       TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    lines             JSONB,
    gross             BIGINT NOT NULL DEFAULT 0,
    discount          BIGINT NOT NULL DEFAULT 0,
    net               BIGINT NOT NULL DEFAULT 0,
    tax               BIGINT NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    notes             TEXT COLLATE "C" NOT NULL DEFAULT '',
    sent_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    decided_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    invoice_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
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
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    number            TEXT COLLATE "C" NOT NULL DEFAULT '',
    quote_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    opportunity_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    issue_date        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    due_date          TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    lines             JSONB,
    gross             BIGINT NOT NULL DEFAULT 0,
    discount          BIGINT NOT NULL DEFAULT 0,
    net               BIGINT NOT NULL DEFAULT 0,
    tax               BIGINT NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    term_days         BIGINT NOT NULL DEFAULT 0,
    paid              BIGINT NOT NULL DEFAULT 0,
    payments          JSONB,
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
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
