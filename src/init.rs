//! `waform init`: write a small working project, never overwriting a file.
//!
//! The scaffold holds a sender per provider, one template, one campaign per sender over a CSV
//! of sample recipients, a `.gitignore` that keeps `.waform/` (the journal) out of git and a
//! README. Every YAML file starts with the `# yaml-language-server: $schema=...` line that
//! gives editors completion and hover docs. The project validates and plans clean as written.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::schema::SCHEMA_ID;

/// What `init` did: the files it wrote and the ones that were already there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Files written, as `DIR/relative-path`, in scaffold order.
    pub created: Vec<PathBuf>,
    /// Files that already existed and were left untouched, as `DIR/relative-path`.
    pub existing: Vec<PathBuf>,
}

/// The scaffold's files: path relative to the project folder, and contents.
pub fn files() -> Vec<(&'static str, String)> {
    let schema_line = format!("# yaml-language-server: $schema={SCHEMA_ID}\n");
    vec![
        ("senders.yaml", format!("{schema_line}{SENDERS}")),
        ("templates.yaml", format!("{schema_line}{TEMPLATES}")),
        ("campaigns.yaml", format!("{schema_line}{CAMPAIGNS}")),
        ("data/recipients.csv", RECIPIENTS.to_owned()),
        (".gitignore", GITIGNORE.to_owned()),
        ("README.md", README.to_owned()),
    ]
}

/// Write the scaffold into `dir` (created if missing). A file that already exists (even as a
/// dangling symlink) is left untouched and listed in [`InitReport::existing`]; each new file
/// is written to a temporary file first and moved into place only if nothing took its name.
pub fn init(dir: &Path) -> io::Result<InitReport> {
    let mut report = InitReport::default();
    for (relative, contents) in files() {
        let path = dir.join(relative);
        if std::fs::symlink_metadata(&path).is_ok() {
            report.existing.push(path);
            continue;
        }
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)?;
        if write_new(parent, &path, contents.as_bytes())? {
            report.created.push(path);
        } else {
            report.existing.push(path);
        }
    }
    Ok(report)
}

/// Write `contents` to `path` unless it exists; false when it did (nothing is written).
fn write_new(parent: &Path, path: &Path, contents: &[u8]) -> io::Result<bool> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".waform-init-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Like any new file: readable by others unless the umask says otherwise.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(parent)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(err) if err.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err.error),
    }
}

const SENDERS: &str = r#"# The accounts this project sends from, one per provider. Secrets come only from the
# environment ({ env: NAME }) or a file ({ file: PATH }), never written in YAML.
kind: Sender
name: aldeamo-test
provider: aldeamo
environment: test                 # Aldeamo's test host; `production` sends real messages
from: "573001112233"              # your business number, digits with country code
api_key: { env: ALDEAMO_API_KEY }
user_id: { env: ALDEAMO_USER_ID }
rate: "20/s"                      # pacing
---
# Mayten has no test host: every send through this sender is a real message. Try the
# campaign against the sandbox first: `waform sandbox`, then
# `waform apply . --endpoint mayten-ar=http://127.0.0.1:8787`.
kind: Sender
name: mayten-ar
provider: mayten
source_id: 1                      # sourceId: your WhatsApp account at Mayten
token: { env: MAYTEN_TOKEN }
batch_size: 100                   # destinations per request
"#;

const TEMPLATES: &str = r#"# Mirrors a template approved by WhatsApp, so that campaigns can be checked against it.
# Replace the body, buttons and provider ids with those of your approved template.
kind: Template
name: order_shipped
language: es
body: "Hola {{1}}, tu pedido {{2}} por {{3}} ya va en camino."
params: [text, text, currency]    # the type of each {{N}} in the body
buttons:
  - { type: url, text: Ver pedido, url: "https://shop.example.com/o/{{1}}" }
providers:
  aldeamo: { namespace: f29c496f_9a16_408b_bff7_379e57d1c8d5 }   # your account's namespace
  mayten: { hsm_id: 1 }                                          # the HSM id Mayten gave it
"#;

const CAMPAIGNS: &str = r#"# The same message to the same recipients, through each provider.
# Parameters are minijinja expressions over the columns of the CSV.
kind: Campaign
name: order-shipped-aldeamo
sender: aldeamo-test
template: order_shipped
recipients:
  csv: data/recipients.csv
to: "{{ phone }}"
body:
  - "{{ first_name | title }}"
  - "{{ order_id }}"
  - currency: { amount: "{{ amount }}", code: "{{ currency }}" }
buttons:
  - "{{ order_id }}"                # URL suffix: https://shop.example.com/o/<order_id>
---
# Mayten sends only the body parameters (hsmParams; the currency as its text); the button is
# fixed in the HSM on Mayten's side.
kind: Campaign
name: order-shipped-mayten
sender: mayten-ar
template: order_shipped
recipients:
  csv: data/recipients.csv
to: "{{ phone }}"
tracking_number: "{{ order_id }}"
body:
  - "{{ first_name | title }}"
  - "{{ order_id }}"
  - currency: { amount: "{{ amount }}", code: "{{ currency }}" }
"#;

const RECIPIENTS: &str = "phone,first_name,order_id,amount,currency
573106565591,María José,CO-1001,189900.00,COP
573235574507,Andrés,CO-1002,45500.50,COP
5491162700908,Lucía,AR-2001,35999.00,ARS
5493517405804,Martín,AR-2002,12500.75,ARS
525590615162,Ximena,MX-3001,1299.90,MXN
";

const GITIGNORE: &str = "# waform's journal of sends (per machine; never commit it)
.waform/
";

const README: &str = "# A waform project

Written by `waform init`: one template sent to five sample recipients through each provider.

| file | what it holds |
| --- | --- |
| `senders.yaml` | `aldeamo-test` (Aldeamo's test host) and `mayten-ar` (a Mayten account: Mayten has no test host, every send is real); secrets from the environment |
| `templates.yaml` | `order_shipped`: three body parameters (text, text, currency) and a URL button |
| `campaigns.yaml` | `order-shipped-aldeamo` and `order-shipped-mayten`, both over `data/recipients.csv` |
| `data/recipients.csv` | five sample recipients in Colombia, Argentina and Mexico |

Replace the sample numbers, ids and recipients with yours, then:

```sh
waform validate .                 # offline: schema, checks, every recipient rendered
waform plan . --emit -            # every request as NDJSON, secrets redacted
waform sandbox &                  # a local fake of both providers, then send to it:
ALDEAMO_API_KEY=any ALDEAMO_USER_ID=any MAYTEN_TOKEN=any waform apply . \
  --endpoint aldeamo-test=http://127.0.0.1:8787 --endpoint mayten-ar=http://127.0.0.1:8787
ALDEAMO_API_KEY=... ALDEAMO_USER_ID=... MAYTEN_TOKEN=... waform apply .   # for real
```

`aldeamo-test` sends to Aldeamo's test host. Every Mayten send is real: `mayten-ar` is a
production sender, so `apply` asks for `--yes` (or a reviewed `--plan`) before sending for real.

`.waform/` holds the journal of what was sent; `.gitignore` keeps it out of git.
";
