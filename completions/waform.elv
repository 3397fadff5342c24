
use builtin;
use str;

set edit:completion:arg-completer[waform] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'waform'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'waform'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand validate 'Check every document and render every recipient, offline; send nothing'
            cand plan 'Compile; print a summary and a preview of what recipients will read'
            cand apply 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable'
            cand status 'Print the journal''s counts per campaign'
            cand sandbox 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account'
            cand state 'Work on the delivery state itself'
            cand init 'Write a small working project into DIR (never overwriting a file)'
            cand schema 'Print the JSON Schema of waform''s YAML documents'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'waform;validate'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;plan'= {
            cand --emit 'Write every HTTP request as one NDJSON line `{"sender","method","url","body"}` to FILE, or `-` for stdout'
            cand --preview 'How many messages of each campaign to preview'
            cand --endpoint 'Use URL as SENDER''s base URL instead of the provider''s host'
            cand --out 'Write a plan file that `apply --plan` checks the sources against'
            cand --state 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]'
            cand --state-dir 'The state folder (the same as --state DIR)'
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --detailed-exitcode 'Exit 0 when there is nothing to send, 2 when there are messages to send, 1 on errors'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;apply'= {
            cand --plan 'Refuse to send unless the sources still compile to what this plan file (from `plan --out`) recorded'
            cand --rate 'Pace every sender at RATE (`N/s`, `N/m`, `N/h` or a number per second), or one sender with SENDER=RATE'
            cand --concurrency 'Requests in flight at once'
            cand --endpoint 'Use URL as SENDER''s base URL (plain http only on loopback addresses)'
            cand --state 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]'
            cand --state-dir 'The state folder (the same as --state DIR)'
            cand --report 'Write one row per recipient to FILE (.csv, or .ndjson/.jsonl)'
            cand --max-attempts 'Attempts for a throttled request or one that could not connect'
            cand --lease 'With PostgreSQL state: how long this run''s claims on recipients hold unless it renews them (it does every third of it); another run takes over the claims of one that died after it (`500ms`, `30s`, `2m`)'
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --yes 'Send to production senders without asking'
            cand --retry-uncertain 'Send again to recipients whose outcome is uncertain (they may receive the message twice)'
            cand --retry-failed 'Send again to recipients the provider refused'
            cand --resend-changed 'Send again, once, to recipients whose message has changed since it was sent'
            cand --accept-changed-key 'Go on although the campaign''s `key:` changed while outcomes exist under the old one: every recipient is new under the new key'
            cand --accept-changed-account 'Go on although the sender''s account changed while outcomes exist under the old one: every recipient is new to the new account'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;status'= {
            cand --state 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]'
            cand --state-dir 'The state folder (the same as --state DIR)'
            cand --endpoint 'Show SENDER''s state at URL (as sent with `apply --endpoint`) as its current target'
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;sandbox'= {
            cand --port 'Port on 127.0.0.1 (0 picks a free one)'
            cand --log 'Append every request received to FILE as NDJSON (credentials redacted)'
            cand --api-key 'Only accept this Aldeamo ApiKey (default: any non-empty key)'
            cand --user-id 'Only accept this Aldeamo UserId'
            cand --token 'Only accept this Mayten bearer token'
            cand --rate-429 'Answer this share of requests with 429 (0 to 1)'
            cand --retry-after 'Retry-After seconds sent with 429'
            cand --rate-500 'Answer this share of requests with 500'
            cand --rate-drop 'Accept this share of requests, then drop the connection without answering'
            cand --latency-ms 'Milliseconds added before each answer'
            cand --fail-first 'Answer the first N requests with 429'
            cand --refuse 'Refuse Aldeamo messages to NUMBER with the documented 400 answer (repeatable)'
            cand --seed 'Seed of the fault sequence'
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;state'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand import 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'waform;state;import'= {
            cand --from 'The state folder to copy'
            cand --to 'The database: postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass)'
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;state;help'= {
            cand import 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'waform;state;help;import'= {
        }
        &'waform;state;help;help'= {
        }
        &'waform;init'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;schema'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;completions'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;man'= {
            cand --format 'How diagnostics are written'
            cand --color 'When to use colours in diagnostics'
            cand -j 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand --jobs 'Threads that compile recipients (default: one per core). The output is the same whatever the number'
            cand -q 'Print only diagnostics (no summaries or previews)'
            cand --quiet 'Print only diagnostics (no summaries or previews)'
            cand -v 'Print more: per-campaign counts and timings (repeat for more)'
            cand --verbose 'Print more: per-campaign counts and timings (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'waform;help'= {
            cand validate 'Check every document and render every recipient, offline; send nothing'
            cand plan 'Compile; print a summary and a preview of what recipients will read'
            cand apply 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable'
            cand status 'Print the journal''s counts per campaign'
            cand sandbox 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account'
            cand state 'Work on the delivery state itself'
            cand init 'Write a small working project into DIR (never overwriting a file)'
            cand schema 'Print the JSON Schema of waform''s YAML documents'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'waform;help;validate'= {
        }
        &'waform;help;plan'= {
        }
        &'waform;help;apply'= {
        }
        &'waform;help;status'= {
        }
        &'waform;help;sandbox'= {
        }
        &'waform;help;state'= {
            cand import 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
        }
        &'waform;help;state;import'= {
        }
        &'waform;help;init'= {
        }
        &'waform;help;schema'= {
        }
        &'waform;help;completions'= {
        }
        &'waform;help;man'= {
        }
        &'waform;help;help'= {
        }
    ]
    $completions[$command]
}
