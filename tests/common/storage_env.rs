//! The gateway against mock-smev with its real FTP file storage: both processes, the mock's
//! files under the test's directory, and what the file-storage tests ask of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use serde_json::{json, Value};

pub const BIG: u64 = 200 * 1024 * 1024;

/// The mock: its FTP server, files under `dir`, a 200 MB answer file for INN 7707083893 and a
/// 1 MB one for any other.
fn mock_config(dir: &Path, big: bool) -> String {
    let big_rule = if big {
        format!(
            r#"
[[kinds.rules]]
when = {{ INN = "7707083893" }}
template_file = "builtin:templates/fns-tax-debt-response.xml"
storage_files = [ {{ name = "Выписка ЕГРН.pdf", mime_type = "application/pdf", generated_bytes = {BIG}, signed = true }} ]
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"
[smev]
redelivery_timeout_ms = 1500
seed = 7

[file_storage]
listen = "127.0.0.1:0"
dir = "{ftp}"

[[participants]]
mnemonic = "SYSTEM2"
name = "Система Б"
subject_cn = "Тестовая ИС ведомства ГОСТ 2012-512 (ТОЛЬКО ДЛЯ ТЕСТОВ)"

[[kinds]]
name = "fns-tax-debt"
namespace = "urn://smev-gateway/example/fns-tax-debt/1.0"
request = "TaxDebtRequest"
response = "TaxDebtResponse"
schema = "builtin:schemas/kinds/fns-tax-debt-1.0.xsd"
provider = "FNS01"
{big_rule}
[[kinds.rules]]
template_file = "builtin:templates/fns-tax-debt-response.xml"
storage_files = [ {{ name = "Справка.pdf", mime_type = "application/pdf", generated_bytes = 1048576 }} ]

[[kinds]]
name = "zags-marriage"
namespace = "urn://smev-gateway/example/zags-marriage/1.0"
request = "MarriageRecordRequest"
response = "MarriageRecordResponse"
schema = "builtin:schemas/kinds/zags-marriage-1.0.xsd"
provider = "ZAGS01"
sample_request = "builtin:templates/zags-marriage-request.xml"
[[kinds.rules]]
template_file = "builtin:templates/zags-marriage-response.xml"
"#,
        ftp = dir.join("mock-ftp").display()
    )
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub mock: Proc,
    pub gw: Proc,
    pub config: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (who, p) in [("gateway", &self.gw), ("mock", &self.mock)] {
                let lines = p.lines();
                for l in &lines[lines.len().saturating_sub(40)..] {
                    eprintln!("{who}: {l}");
                }
            }
        }
    }
}

impl Env {
    pub fn start(big: bool, extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mock = start_mock(dir.path(), Some(&mock_config(dir.path(), big)));
        let ftp = wait_for(Duration::from_secs(60), "the mock's FTP address", || {
            mock.lines().iter().find_map(|l| {
                l.strip_prefix("mock-smev file storage on ")
                    .map(|a| a.trim().to_string())
            })
        });
        let extra = format!(
            "[file_storage]\naddress = \"{ftp}\"\npassword = \"smev-ftp\"\nstep_timeout_ms = 10000\n{extra}\n"
        );
        let config = gateway_config(dir.path(), &format!("http://{}/ws", mock.addr), &extra);
        let gw = start_gateway(&config);
        Env {
            dir,
            mock,
            gw,
            config,
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("http://{}{path}", self.gw.addr)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("http://{}/admin{path}", self.mock.addr)
    }

    pub fn ftp_fault(&self, spec: Value) {
        let (s, b) = call(
            "POST",
            &self.admin("/file-storage/faults"),
            None,
            Some(&spec),
        );
        assert_eq!(s, 200, "{b}");
    }

    pub fn post_tax(&self, client_id: &str, inn: &str) -> String {
        let body = json!({"kind": "fns-tax-debt", "business_xml": tax_request(client_id, inn), "client_id": client_id});
        let (s, r) = call(
            "POST",
            &self.api("/api/v1/requests"),
            Some(TOKEN_A),
            Some(&body),
        );
        assert_eq!(s, 202, "{r}");
        r["id"].as_str().unwrap().to_string()
    }

    pub fn request(&self, id: &str) -> Value {
        call(
            "GET",
            &self.api(&format!("/api/v1/requests/{id}")),
            Some(TOKEN_A),
            None,
        )
        .1
    }

    pub fn count(&self, message_id: &str) -> Value {
        let url = self.admin(&format!("/messages/count?message_id={message_id}"));
        call("GET", &url, None, None).1
    }

    pub fn dead_letter(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_for(Duration::from_secs(60), what, || {
            let (_, l) = call(
                "GET",
                &self.api("/api/v1/dead-letters"),
                Some(TOKEN_A),
                None,
            );
            l["items"]
                .as_array()
                .and_then(|a| a.iter().find(|d| pred(d)).cloned())
        })
    }

    /// A simulated consumer's zags-marriage request to us with one 6 MB file in the file
    /// storage, signed (PKCS#7) by the consumer when `signed`.
    pub fn offer_incoming(&self, name: &str, signed: bool) {
        let (s, b) = call(
            "POST",
            &self.admin("/requests"),
            None,
            Some(
                &json!({"kind": "zags-marriage", "to": "SYSTEM1", "from": "MFC01",
                "storage_files": [{"name": name, "mime_type": "application/pdf",
                    "generated_bytes": 6_291_456, "signed": signed}]}),
            ),
        );
        assert_eq!(s, 201, "{b}");
    }

    /// The first incoming request to be stored, in full.
    pub fn incoming_request(&self) -> Value {
        let first = wait_for(Duration::from_secs(60), "the incoming request", || {
            let (_, l) = call("GET", &self.api("/api/v1/incoming"), Some(TOKEN_A), None);
            l["items"].as_array().and_then(|a| a.first().cloned())
        });
        let id = first["id"].as_str().unwrap();
        call(
            "GET",
            &self.api(&format!("/api/v1/incoming/{id}")),
            Some(TOKEN_A),
            None,
        )
        .1
    }

    /// That the mock's FTP counter `stat` (`served_bytes`, `received_bytes`) shows the 200 MB file
    /// moved once: at least the file, less than the file plus `slack_mb` MiB (what a resumed
    /// transfer may repeat).
    pub fn assert_moved_once(&self, stat: &str, slack_mb: u64) {
        let moved = call("GET", &self.admin("/file-storage/stats"), None, None).1[stat]
            .as_u64()
            .unwrap();
        assert!(
            (BIG..BIG + slack_mb * 1024 * 1024).contains(&moved),
            "{stat}: {moved} bytes for a {BIG}-byte file"
        );
    }

    /// SIGKILLs the gateway, clears the FTP faults, starts it again on the same database and
    /// waits for request `id` to be answered.
    pub fn kill_and_restart_until_answered(&mut self, id: &str) -> Value {
        self.gw.kill();
        self.ftp_fault(json!({}));
        self.gw = start_gateway(&self.config);
        wait_for(
            Duration::from_secs(300),
            "the answer after the restart",
            || {
                let v = self.request(id);
                (v["status"] == "answered").then_some(v)
            },
        )
    }

    /// Waits for request `id` to be answered, checks that SMEV took exactly one SendRequest
    /// for it, and returns the request.
    pub fn answered_after_one_send(&self, id: &str) -> Value {
        let v = wait_for(Duration::from_secs(60), "the answer", || {
            let v = self.request(id);
            (v["status"] == "answered").then_some(v)
        });
        let c = self.count(v["message_id"].as_str().unwrap());
        assert_eq!(
            (c["sends"].as_u64(), c["accepted"].as_u64()),
            (Some(1), Some(1)),
            "{c}"
        );
        v
    }

    /// Stops the gateway, changes its configuration file with `edit` and starts it again on
    /// the same database.
    pub fn restart_with_config(&mut self, edit: impl FnOnce(String) -> String) {
        self.gw.terminate();
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
        self.gw = start_gateway(&self.config);
    }

    /// The mock's prepared copy of an answer file (the bytes it hashed and offered).
    pub fn prepared(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("mock-ftp/files/{n}.bin"))
    }
}
