-- waform's delivery state, version 1: one row per slot, one row per recipient key of a slot
-- holding its latest record (as the folder's replay keeps each key's latest line).

CREATE TABLE waform.slots (
    id          bigserial PRIMARY KEY,
    campaign    text NOT NULL,
    provider    text NOT NULL,
    host        text NOT NULL,
    account     text NOT NULL,
    -- The campaign's `key:` expression; NULL for the default key (the normalised number).
    key_expr    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One slot per campaign, target and key expression (a NULL key is one value, not many).
CREATE UNIQUE INDEX slots_identity ON waform.slots
    (campaign, provider, host, account, (coalesce(key_expr, '')), (key_expr IS NULL));

CREATE TABLE waform.recipients (
    slot_id     bigint NOT NULL REFERENCES waform.slots (id),
    key         text NOT NULL,
    -- Increases with every record: reports list keys in the order of their latest record.
    seq         bigint NOT NULL,
    request_id  bigint NOT NULL,
    "to"        text NOT NULL,
    tracking    text,
    status      text NOT NULL CHECK (status IN ('sent', 'failed', 'unsent', 'uncertain')),
    -- The latest record is an intent with no outcome: the run stopped with it in flight.
    in_flight   boolean NOT NULL,
    attempts    integer NOT NULL,
    -- The xxh3 digest of the message as sent (its 64 bits as a signed integer).
    digest      bigint,
    -- The provider JSON last recorded in an intent, to show what changed later.
    body        text,
    message_id  text,
    track_uuid  text,
    error       text,
    warning     text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slot_id, key)
);

CREATE INDEX recipients_order ON waform.recipients (slot_id, seq);

-- The order of records.
CREATE SEQUENCE waform.record_seq;

-- Request ids are handed out in blocks of 1024: block n holds n * 1024 .. n * 1024 + 1023.
CREATE SEQUENCE waform.request_blocks;
