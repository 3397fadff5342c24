-- waform's delivery state, version 3: one pace per sender across every worker.
--
-- A worker reserves its next sends of a sender by moving `next_at` on by their number times
-- the sender's interval; it waits until the old `next_at` (or not at all if that is past).
CREATE TABLE waform.pacers (
    sender  text PRIMARY KEY,
    next_at timestamptz NOT NULL
);
