-- Raw imported data (never overwritten by computation) and computed results (rebuilt from raw + policy).
CREATE SEQUENCE IF NOT EXISTS import_seq START 1;

CREATE TABLE IF NOT EXISTS imports (
    import_id     BIGINT PRIMARY KEY,
    file          VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    mapping       VARCHAR,
    rows_read     BIGINT NOT NULL,
    rows_loaded   BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    imported_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS items (
    source         VARCHAR NOT NULL,          -- e.g. zendesk, servicenow, ops
    item_id        VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,          -- ticket | ops
    process        VARCHAR,                   -- support, leads, reporting...
    channel        VARCHAR,                   -- email, phone, chat, social, web...
    team           VARCHAR,
    priority       VARCHAR,                   -- urgent, high, normal, low
    agent          VARCHAR,
    status         VARCHAR,                   -- current status, lower-case
    subject        VARCHAR,
    created        TIMESTAMPTZ NOT NULL,
    first_response TIMESTAMPTZ,
    resolved       TIMESTAMPTZ,
    closed         TIMESTAMPTZ,
    attributes     JSON,                      -- anything else the export carried
    import_id      BIGINT
    -- (source, item_id) is unique: the import pipeline replaces an item's row. No index on purpose: bulk
    -- loads stay fast and the file small (an ART index made a 1M-item file 7x larger).
);

CREATE TABLE IF NOT EXISTS events (
    source    VARCHAR NOT NULL,
    item_id   VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    kind      VARCHAR NOT NULL,               -- status | reply | custom step (submitted, scored, ...)
    value     VARCHAR NOT NULL DEFAULT '',    -- new status for kind=status
    import_id BIGINT
    -- unique on (source, item_id, occurred_at, kind, value): imports add only unseen events (no index, as above)
);

CREATE TABLE IF NOT EXISTS rejected_rows (
    import_id BIGINT NOT NULL,
    line      BIGINT NOT NULL,
    raw       VARCHAR,
    reason    VARCHAR NOT NULL
);

-- One row per item x metric x instance judged by the policy version in force at the item's start.
CREATE TABLE IF NOT EXISTS results (
    source         VARCHAR NOT NULL,
    item_id        VARCHAR NOT NULL,
    metric         VARCHAR NOT NULL,
    instance       INTEGER NOT NULL DEFAULT 1, -- 1, 2, ... per item and metric (repeat, between, schedule)
    kind           VARCHAR,
    process        VARCHAR,
    channel        VARCHAR,
    team           VARCHAR,
    priority       VARCHAR,
    agent          VARCHAR,
    status         VARCHAR,
    created        TIMESTAMPTZ,
    policy_version INTEGER,
    target_index   INTEGER,
    calendar       VARCHAR,
    within_s       DOUBLE,
    objective      DOUBLE,
    start          TIMESTAMPTZ,
    stop           TIMESTAMPTZ,
    elapsed_s      DOUBLE,
    paused_s       DOUBLE,
    state          VARCHAR,                   -- achieved | breached | active | paused
    met            BOOLEAN,                   -- null while undecided
    due_at         TIMESTAMPTZ,
    remaining_s    DOUBLE,
    pct_used       DOUBLE,
    computed_at    TIMESTAMPTZ
);

-- Which policy history the stored results were judged by (one row; none until results were first computed).
-- A write re-judges only what it touched while this matches; otherwise it rebuilds every result once.
CREATE TABLE IF NOT EXISTS results_basis (
    basis       VARCHAR NOT NULL,              -- sla_store.compute.history_basis
    computed_at TIMESTAMPTZ NOT NULL
);

-- Which item time fields the imports of a source could fill (from their mappings): a metric whose start or
-- stop a source never fills is "not measured" for it ("no column"), not breached.
CREATE TABLE IF NOT EXISTS source_fields (
    source VARCHAR NOT NULL,
    field  VARCHAR NOT NULL
);

-- Every event kind and status value each source has stored, and how many events that describes
-- (sla_store.coverage.event_names): what a source records is read from here, not from the whole events table.
CREATE TABLE IF NOT EXISTS event_names (
    source VARCHAR NOT NULL,
    name   VARCHAR NOT NULL,
    events BIGINT NOT NULL
);

-- Item x metric pairs a target matched but the item's source cannot measure (rebuilt with `results`; the
-- results table also gains one VARCHAR column per policy dimension, added when a policy declares it).
-- The item columns are the results' own (declared once, above), with what is missing instead of a verdict.
CREATE TABLE IF NOT EXISTS not_measured AS
    SELECT source, item_id, metric, kind, process, channel, team, priority, agent, status, created,
           policy_version, target_index,
           NULL::VARCHAR AS missing,              -- the milestone(s) the source never records
           NULL::VARCHAR AS reason                -- no column | never recorded
    FROM results LIMIT 0;

-- What is wrong with the data or the setup, one line each, rebuilt with `results` (Data page, CLI, report).
CREATE TABLE IF NOT EXISTS data_notes (
    topic   VARCHAR NOT NULL,                 -- not_measured | unmatched_source | before_first_policy
    source  VARCHAR,
    metric  VARCHAR,
    items   BIGINT,
    message VARCHAR NOT NULL
);

-- Files written before instances existed get the column (every old row is instance 1).
ALTER TABLE results ADD COLUMN IF NOT EXISTS instance INTEGER DEFAULT 1;

-- The sealed history file this live file goes with (sla_store.segments): items created before `sealed_before`
-- (with their events, results and not-measured rows) are in it; `items`/`events`/`results` count its rows.
CREATE TABLE IF NOT EXISTS sealed_history (
    file          VARCHAR NOT NULL,          -- a name in this file's folder: <this name>.sealed-<token>
    items         BIGINT NOT NULL,
    events        BIGINT NOT NULL,
    results       BIGINT NOT NULL,
    sealed_before TIMESTAMPTZ NOT NULL,
    sealed_at     TIMESTAMPTZ NOT NULL
);
-- True only inside a write that rebuilds every result: the sealed results are being replaced.
ALTER TABLE sealed_history ADD COLUMN IF NOT EXISTS results_void BOOLEAN DEFAULT false;

-- Sealed items a later write changed: their rows in this file replace the sealed ones (`events`: how many
-- of the sealed events that hides).
CREATE TABLE IF NOT EXISTS unsealed (
    source  VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    events  BIGINT NOT NULL
);

-- The policy's scheduled and between metrics: every write judges their items again, so those stay live.
CREATE TABLE IF NOT EXISTS periodic_metrics (metric VARCHAR NOT NULL);
