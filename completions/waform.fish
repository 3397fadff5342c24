# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_waform_global_optspecs
    string join \n format= color= q/quiet v/verbose j/jobs= h/help V/version
end

function __fish_waform_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_waform_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_waform_using_subcommand
    set -l cmd (__fish_waform_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c waform -n "__fish_waform_needs_command" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_needs_command" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_needs_command" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_needs_command" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_needs_command" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_needs_command" -s V -l version -d 'Print version'
complete -c waform -n "__fish_waform_needs_command" -f -a "validate" -d 'Check every document and render every recipient, offline; send nothing'
complete -c waform -n "__fish_waform_needs_command" -f -a "plan" -d 'Compile; print a summary and a preview of what recipients will read'
complete -c waform -n "__fish_waform_needs_command" -f -a "apply" -d 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable'
complete -c waform -n "__fish_waform_needs_command" -f -a "status" -d 'Print the journal\'s counts per campaign'
complete -c waform -n "__fish_waform_needs_command" -f -a "sandbox" -d 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account'
complete -c waform -n "__fish_waform_needs_command" -f -a "state" -d 'Work on the delivery state itself'
complete -c waform -n "__fish_waform_needs_command" -f -a "init" -d 'Write a small working project into DIR (never overwriting a file)'
complete -c waform -n "__fish_waform_needs_command" -f -a "schema" -d 'Print the JSON Schema of waform\'s YAML documents'
complete -c waform -n "__fish_waform_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c waform -n "__fish_waform_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c waform -n "__fish_waform_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c waform -n "__fish_waform_using_subcommand validate" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand validate" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand validate" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand validate" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand validate" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand plan" -l emit -d 'Write every HTTP request as one NDJSON line `{"sender","method","url","body"}` to FILE, or `-` for stdout' -r -F
complete -c waform -n "__fish_waform_using_subcommand plan" -l preview -d 'How many messages of each campaign to preview' -r
complete -c waform -n "__fish_waform_using_subcommand plan" -l endpoint -d 'Use URL as SENDER\'s base URL instead of the provider\'s host' -r
complete -c waform -n "__fish_waform_using_subcommand plan" -l out -d 'Write a plan file that `apply --plan` checks the sources against' -r -F
complete -c waform -n "__fish_waform_using_subcommand plan" -l state -d 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]' -r
complete -c waform -n "__fish_waform_using_subcommand plan" -l state-dir -d 'The state folder (the same as --state DIR)' -r -F
complete -c waform -n "__fish_waform_using_subcommand plan" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand plan" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand plan" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand plan" -l detailed-exitcode -d 'Exit 0 when there is nothing to send, 2 when there are messages to send, 1 on errors'
complete -c waform -n "__fish_waform_using_subcommand plan" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand plan" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand apply" -l plan -d 'Refuse to send unless the sources still compile to what this plan file (from `plan --out`) recorded' -r -F
complete -c waform -n "__fish_waform_using_subcommand apply" -l rate -d 'Pace every sender at RATE (`N/s`, `N/m`, `N/h` or a number per second), or one sender with SENDER=RATE' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l concurrency -d 'Requests in flight at once' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l endpoint -d 'Use URL as SENDER\'s base URL (plain http only on loopback addresses)' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l state -d 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l state-dir -d 'The state folder (the same as --state DIR)' -r -F
complete -c waform -n "__fish_waform_using_subcommand apply" -l report -d 'Write one row per recipient to FILE (.csv, or .ndjson/.jsonl)' -r -F
complete -c waform -n "__fish_waform_using_subcommand apply" -l max-attempts -d 'Attempts for a throttled request or one that could not connect' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l lease -d 'With PostgreSQL state: how long this run\'s claims on recipients hold unless it renews them (it does every third of it); another run takes over the claims of one that died after it (`500ms`, `30s`, `2m`)' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand apply" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand apply" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand apply" -l yes -d 'Send to production senders without asking'
complete -c waform -n "__fish_waform_using_subcommand apply" -l retry-uncertain -d 'Send again to recipients whose outcome is uncertain (they may receive the message twice)'
complete -c waform -n "__fish_waform_using_subcommand apply" -l retry-failed -d 'Send again to recipients the provider refused'
complete -c waform -n "__fish_waform_using_subcommand apply" -l resend-changed -d 'Send again, once, to recipients whose message has changed since it was sent'
complete -c waform -n "__fish_waform_using_subcommand apply" -l accept-changed-key -d 'Go on although the campaign\'s `key:` changed while outcomes exist under the old one: every recipient is new under the new key'
complete -c waform -n "__fish_waform_using_subcommand apply" -l accept-changed-account -d 'Go on although the sender\'s account changed while outcomes exist under the old one: every recipient is new to the new account'
complete -c waform -n "__fish_waform_using_subcommand apply" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand apply" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand status" -l state -d 'Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]' -r
complete -c waform -n "__fish_waform_using_subcommand status" -l state-dir -d 'The state folder (the same as --state DIR)' -r -F
complete -c waform -n "__fish_waform_using_subcommand status" -l endpoint -d 'Show SENDER\'s state at URL (as sent with `apply --endpoint`) as its current target' -r
complete -c waform -n "__fish_waform_using_subcommand status" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand status" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand status" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand status" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand status" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l port -d 'Port on 127.0.0.1 (0 picks a free one)' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l log -d 'Append every request received to FILE as NDJSON (credentials redacted)' -r -F
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l api-key -d 'Only accept this Aldeamo ApiKey (default: any non-empty key)' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l user-id -d 'Only accept this Aldeamo UserId' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l token -d 'Only accept this Mayten bearer token' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l rate-429 -d 'Answer this share of requests with 429 (0 to 1)' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l retry-after -d 'Retry-After seconds sent with 429' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l rate-500 -d 'Answer this share of requests with 500' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l rate-drop -d 'Accept this share of requests, then drop the connection without answering' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l latency-ms -d 'Milliseconds added before each answer' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l fail-first -d 'Answer the first N requests with 429' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l refuse -d 'Refuse Aldeamo messages to NUMBER with the documented 400 answer (repeatable)' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l seed -d 'Seed of the fault sequence' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand sandbox" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand sandbox" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand sandbox" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand sandbox" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand sandbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -f -a "import" -d 'Copy a local state folder\'s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
complete -c waform -n "__fish_waform_using_subcommand state; and not __fish_seen_subcommand_from import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -l from -d 'The state folder to copy' -r -F
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -l to -d 'The database: postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass)' -r
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "import" -d 'Copy a local state folder\'s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
complete -c waform -n "__fish_waform_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c waform -n "__fish_waform_using_subcommand init" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand init" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand init" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand init" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand init" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand schema" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand schema" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand schema" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand schema" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand schema" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand completions" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand completions" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand completions" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand completions" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand completions" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand man" -l format -d 'How diagnostics are written' -r -f -a "human\t'For people, with the source lines'
json\t'One JSON document'
github\t'GitHub Actions workflow commands (annotations on pull requests)'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c waform -n "__fish_waform_using_subcommand man" -l color -d 'When to use colours in diagnostics' -r -f -a "auto\t'When stderr is a terminal and `NO_COLOR` is not set'
always\t'Always'
never\t'Never'"
complete -c waform -n "__fish_waform_using_subcommand man" -s j -l jobs -d 'Threads that compile recipients (default: one per core). The output is the same whatever the number' -r
complete -c waform -n "__fish_waform_using_subcommand man" -s q -l quiet -d 'Print only diagnostics (no summaries or previews)'
complete -c waform -n "__fish_waform_using_subcommand man" -s v -l verbose -d 'Print more: per-campaign counts and timings (repeat for more)'
complete -c waform -n "__fish_waform_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "validate" -d 'Check every document and render every recipient, offline; send nothing'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "plan" -d 'Compile; print a summary and a preview of what recipients will read'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "apply" -d 'Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "status" -d 'Print the journal\'s counts per campaign'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "sandbox" -d 'Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "state" -d 'Work on the delivery state itself'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "init" -d 'Write a small working project into DIR (never overwriting a file)'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "schema" -d 'Print the JSON Schema of waform\'s YAML documents'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "completions" -d 'Print shell completions'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c waform -n "__fish_waform_using_subcommand help; and not __fish_seen_subcommand_from validate plan apply status sandbox state init schema completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c waform -n "__fish_waform_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "import" -d 'Copy a local state folder\'s slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all'
