-- waform's delivery state, version 2: several `apply` processes (workers) split a slot.
--
-- A worker claims keys before sending them: `recipients.claimed_by` names it, and the key is
-- its while the worker's lease (`workers.lease_until`, renewed as it works) holds. A claim of
-- a key with no record yet is a row whose `status` is NULL (read as no record at all).

ALTER TABLE waform.recipients
    ALTER COLUMN status DROP NOT NULL,
    ALTER COLUMN request_id DROP NOT NULL,
    ALTER COLUMN "to" DROP NOT NULL,
    ALTER COLUMN attempts DROP NOT NULL,
    ADD COLUMN claimed_by text;

-- The digest of the sources the slot's running workers compiled: a worker with other
-- sources may not join them.
ALTER TABLE waform.slots ADD COLUMN sources bigint;

-- The workers sending a slot now, each with its lease.
CREATE TABLE waform.workers (
    id          text NOT NULL,
    slot_id     bigint NOT NULL REFERENCES waform.slots (id),
    lease_until timestamptz NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, slot_id)
);
