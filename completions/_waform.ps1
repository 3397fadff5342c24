
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'waform' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'waform'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'waform' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check every document and render every recipient, offline; send nothing')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Compile; print a summary and a preview of what recipients will read')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Print the journal''s counts per campaign')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Work on the delivery state itself')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a small working project into DIR (never overwriting a file)')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of waform''s YAML documents')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'waform;validate' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;plan' {
            [CompletionResult]::new('--emit', '--emit', [CompletionResultType]::ParameterName, 'Write every HTTP request as one NDJSON line `{"sender","method","url","body"}` to FILE, or `-` for stdout')
            [CompletionResult]::new('--preview', '--preview', [CompletionResultType]::ParameterName, 'How many messages of each campaign to preview')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Use URL as SENDER''s base URL instead of the provider''s host')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write a plan file that `apply --plan` checks the sources against')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state folder (the same as --state DIR)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 0 when there is nothing to send, 2 when there are messages to send, 1 on errors')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;apply' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Refuse to send unless the sources still compile to what this plan file (from `plan --out`) recorded')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Pace every sender at RATE (`N/s`, `N/m`, `N/h` or a number per second), or one sender with SENDER=RATE')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Use URL as SENDER''s base URL (plain http only on loopback addresses)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state folder (the same as --state DIR)')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write one row per recipient to FILE (.csv, or .ndjson/.jsonl)')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Attempts for a throttled request or one that could not connect')
            [CompletionResult]::new('--lease', '--lease', [CompletionResultType]::ParameterName, 'With PostgreSQL state: how long this run''s claims on recipients hold unless it renews them (it does every third of it); another run takes over the claims of one that died after it (`500ms`, `30s`, `2m`)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Send to production senders without asking')
            [CompletionResult]::new('--retry-uncertain', '--retry-uncertain', [CompletionResultType]::ParameterName, 'Send again to recipients whose outcome is uncertain (they may receive the message twice)')
            [CompletionResult]::new('--retry-failed', '--retry-failed', [CompletionResultType]::ParameterName, 'Send again to recipients the provider refused')
            [CompletionResult]::new('--resend-changed', '--resend-changed', [CompletionResultType]::ParameterName, 'Send again, once, to recipients whose message has changed since it was sent')
            [CompletionResult]::new('--accept-changed-key', '--accept-changed-key', [CompletionResultType]::ParameterName, 'Go on although the campaign''s `key:` changed while outcomes exist under the old one: every recipient is new under the new key')
            [CompletionResult]::new('--accept-changed-account', '--accept-changed-account', [CompletionResultType]::ParameterName, 'Go on although the sender''s account changed while outcomes exist under the old one: every recipient is new to the new account')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;status' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state folder (the same as --state DIR)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Show SENDER''s state at URL (as sent with `apply --endpoint`) as its current target')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;sandbox' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port on 127.0.0.1 (0 picks a free one)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Append every request received to FILE as NDJSON (credentials redacted)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Only accept this Aldeamo ApiKey (default: any non-empty key)')
            [CompletionResult]::new('--user-id', '--user-id', [CompletionResultType]::ParameterName, 'Only accept this Aldeamo UserId')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Only accept this Mayten bearer token')
            [CompletionResult]::new('--rate-429', '--rate-429', [CompletionResultType]::ParameterName, 'Answer this share of requests with 429 (0 to 1)')
            [CompletionResult]::new('--retry-after', '--retry-after', [CompletionResultType]::ParameterName, 'Retry-After seconds sent with 429')
            [CompletionResult]::new('--rate-500', '--rate-500', [CompletionResultType]::ParameterName, 'Answer this share of requests with 500')
            [CompletionResult]::new('--rate-drop', '--rate-drop', [CompletionResultType]::ParameterName, 'Accept this share of requests, then drop the connection without answering')
            [CompletionResult]::new('--latency-ms', '--latency-ms', [CompletionResultType]::ParameterName, 'Milliseconds added before each answer')
            [CompletionResult]::new('--fail-first', '--fail-first', [CompletionResultType]::ParameterName, 'Answer the first N requests with 429')
            [CompletionResult]::new('--refuse', '--refuse', [CompletionResultType]::ParameterName, 'Refuse Aldeamo messages to NUMBER with the documented 400 answer (repeatable)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the fault sequence')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;state' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'waform;state;import' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The state folder to copy')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The database: postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;state;help' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'waform;state;help;import' {
            break
        }
        'waform;state;help;help' {
            break
        }
        'waform;init' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;schema' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;completions' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;man' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How diagnostics are written')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours in diagnostics')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that compile recipients (default: one per core). The output is the same whatever the number')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only diagnostics (no summaries or previews)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: per-campaign counts and timings (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'waform;help' {
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check every document and render every recipient, offline; send nothing')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Compile; print a summary and a preview of what recipients will read')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Print the journal''s counts per campaign')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Work on the delivery state itself')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a small working project into DIR (never overwriting a file)')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of waform''s YAML documents')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'waform;help;validate' {
            break
        }
        'waform;help;plan' {
            break
        }
        'waform;help;apply' {
            break
        }
        'waform;help;status' {
            break
        }
        'waform;help;sandbox' {
            break
        }
        'waform;help;state' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Copy a local state folder''s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all')
            break
        }
        'waform;help;state;import' {
            break
        }
        'waform;help;init' {
            break
        }
        'waform;help;schema' {
            break
        }
        'waform;help;completions' {
            break
        }
        'waform;help;man' {
            break
        }
        'waform;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
