-- Continuous export (API.md, Raw event collection): each tenant's events are exported by arrival, in batches covering a
-- range of received_at; export_heads says up to where. A batch row is made before its files, so a retry after a crash
-- exports the same range under the same names; removed_at is set once its rows left the log (keep_hours after export).
CREATE TABLE export_heads
(
    tenant_id      text        NOT NULL PRIMARY KEY,
    exported_until timestamptz NOT NULL
);

CREATE TABLE export_batches
(
    tenant_id      text        NOT NULL,
    batch_id       bigint      GENERATED ALWAYS AS IDENTITY,
    received_from  timestamptz NOT NULL,
    received_until timestamptz NOT NULL,
    first_event_id bigint      NULL,
    last_event_id  bigint      NULL,
    rows           bigint      NOT NULL DEFAULT 0,
    files          integer     NOT NULL DEFAULT 0,
    bytes          bigint      NOT NULL DEFAULT 0,
    sinks          text[]      NOT NULL DEFAULT '{}',
    location       text        NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    exported_at    timestamptz NULL,
    removed_at     timestamptz NULL,
    error          text        NULL,
    PRIMARY KEY (tenant_id, batch_id)
);
