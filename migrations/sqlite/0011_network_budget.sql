-- Each network's request budget, shared by every relink process checking its tokens: a virtual
-- schedule (GCRA) whose `next_at` is the earliest instant, in microseconds since the Unix epoch,
-- of the next free request slot. A process reserves a block of slots (a tenth of a second's
-- budget) with one conditional statement and spends them in memory. `paused_until` (milliseconds)
-- is when the network said relink may ask again (`Retry-After`, usage headers): no process
-- starts a check of that network before it.
CREATE TABLE network_budget (
    network       TEXT    PRIMARY KEY,
    next_at       BIGINT  NOT NULL,
    paused_until  BIGINT
);
