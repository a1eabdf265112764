//! The scenario engine: compiled data kinds, answer rules of simulated providers and request
//! templates of simulated consumers. A rule matches on values of the request (by element local
//! name), and plans what the provider sends: `RequestStatus` messages, then an answer rendered
//! from a minijinja template (with MTOM attachments), a rejection, or nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use smev_protocol::smev::build;
use smev_protocol::smev::model::{
    AttachmentContent, AttachmentHeader, QualifiedName, Rejection, RejectionReasonCode,
    RequestStatus, ResponseContent,
};
use smev_protocol::smev::schema::Schema;
use smev_protocol::xml::{Document, NodeId};

use super::config::{AttachmentConfig, ConsumerConfig, KindConfig, MockConfig, Reply, RuleConfig};
use super::resources;

/// An attachment ready to send.
#[derive(Debug, Clone)]
pub struct FileAttachment {
    pub header: AttachmentHeader,
    pub content: AttachmentContent,
}

/// A compiled answer rule.
#[derive(Debug)]
pub struct Rule {
    pub config: RuleConfig,
    pub template: Option<String>,
    pub attachments: Vec<FileAttachment>,
    /// `config.storage_files` prepared in the file storage (at the simulator's start).
    pub storage_files: Vec<crate::file_storage::StoredFile>,
    pub reject_code: RejectionReasonCode,
}

/// A compiled data kind.
#[derive(Debug)]
pub struct Kind {
    pub config: KindConfig,
    pub request_root: QualifiedName,
    pub response_root: QualifiedName,
    pub schema: Option<Schema>,
    pub rules: Vec<Rule>,
    pub sample_request: Option<String>,
}

/// A compiled simulated consumer.
#[derive(Debug)]
pub struct Consumer {
    pub config: ConsumerConfig,
    pub template: String,
    pub attachments: Vec<FileAttachment>,
}

/// Values of a request for matching and templates.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// First text of every leaf element by local name.
    pub flat: BTreeMap<String, String>,
    /// The whole document as nested maps (`request.Husband.FullName.LastName`).
    pub nested: Value,
}

/// One message a simulated provider will send.
#[derive(Debug, Clone)]
pub struct Planned {
    pub after: Duration,
    pub content: ResponseContent,
    pub attachments: Vec<AttachmentContent>,
    /// Files offered through the file storage (their headers are added when offered).
    pub storage_files: Vec<crate::file_storage::StoredFile>,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env
}

/// Checks the syntax of a template.
fn compile_check(src: &str, what: &str) -> anyhow::Result<()> {
    let e = env();
    e.template_from_str(src)
        .map(|_| ())
        .map_err(|err| anyhow::anyhow!("{what}: template error: {err}"))
}

/// Renders `src` with the request values and `extra` variables.
pub fn render(src: &str, values: &Values, extra: &[(&str, String)]) -> Result<String, String> {
    let mut ctx: BTreeMap<String, Value> = values
        .flat
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    ctx.insert("request".into(), values.nested.clone());
    for (k, v) in extra {
        ctx.insert((*k).to_string(), Value::from(v.clone()));
    }
    env()
        .render_str(src, Value::from(ctx))
        .map_err(|e| format!("template error: {e}"))
}

fn node_value(doc: &Document, n: NodeId, flat: &mut BTreeMap<String, String>) -> Value {
    let kids: Vec<NodeId> = doc.child_elements(n).collect();
    if kids.is_empty() {
        let text = doc.text(n).trim().to_string();
        if let Some(e) = doc.element(n) {
            flat.entry(e.local.to_string())
                .or_insert_with(|| text.clone());
        }
        return Value::from(text);
    }
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    for k in kids {
        let v = node_value(doc, k, flat);
        if let Some(e) = doc.element(k) {
            map.entry(e.local.to_string()).or_insert(v);
        }
    }
    Value::from(map)
}

/// Extracts the values of a business document.
pub fn values(xml: &str) -> Values {
    let Ok(doc) = Document::parse_str(xml) else {
        return Values::default();
    };
    let mut flat = BTreeMap::new();
    let nested = node_value(&doc, doc.root(), &mut flat);
    Values { flat, nested }
}

/// Makes an `AttachmentContent/Id` (xs:ID, an NCName) from a file name.
pub fn content_id_from(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert_str(0, "a_");
    }
    id
}

fn attachments(
    list: &[AttachmentConfig],
    base: &std::path::Path,
) -> anyhow::Result<Vec<FileAttachment>> {
    let mut out: Vec<FileAttachment> = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let bytes = resources::read(&a.file, base)?;
        let file_name = a
            .file
            .rsplit(['/', '\\', ':'])
            .next()
            .unwrap_or("attachment")
            .to_string();
        let mut id = a
            .content_id
            .clone()
            .unwrap_or_else(|| content_id_from(&file_name));
        if !smev_protocol::xml::tree::is_ncname(&id) {
            anyhow::bail!("attachment content_id {id:?} is not an NCName");
        }
        if out.iter().any(|o| o.content.id == id) {
            id = format!("{id}-{i}");
        }
        out.push(FileAttachment {
            header: AttachmentHeader {
                content_id: id.clone(),
                mime_type: a.mime_type.clone(),
                signature_pkcs7: None,
            },
            content: AttachmentContent { id, content: bytes },
        });
    }
    Ok(out)
}

fn template_source(
    inline: &Option<String>,
    file: &Option<String>,
    base: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    Ok(match (inline, file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(f)) => Some(
            String::from_utf8(resources::read(f, base)?)
                .with_context(|| format!("template {f} is not UTF-8"))?,
        ),
        (None, None) => None,
    })
}

/// An answer generated from the kind's response schema: every required field with a value of
/// its type (libxml2 accepts it by construction), as a template that renders to itself.
fn generated_answer(k: &KindConfig, schema: &std::path::Path) -> anyhow::Result<String> {
    let dir = schema.parent().unwrap_or(std::path::Path::new("."));
    let main = schema.strip_prefix(dir).unwrap_or(schema);
    let package = smev_protocol::xsd::Package::open(dir, Some(main))?;
    let root = smev_protocol::xsd::components::QName::new(Some(&k.namespace), &k.response);
    let tree = package.describe(&root)?;
    let xml = smev_protocol::xsd::sample::instance(&tree);
    Ok(format!("{{% raw %}}{xml}{{% endraw %}}"))
}

impl Kind {
    pub fn compile(k: &KindConfig, base: &std::path::Path) -> anyhow::Result<Kind> {
        let schema_file = match &k.schema {
            Some(s) => Some(resources::schema_path(s, base)?),
            None => None,
        };
        let schema = match &schema_file {
            Some(path) => {
                Some(Schema::load(path).map_err(|e| anyhow::anyhow!("kind {}: {e}", k.name))?)
            }
            None => None,
        };
        // A kind without rules answers every request with a generated answer.
        let default_rule = [RuleConfig::default()];
        let configured: &[RuleConfig] = match (k.rules.is_empty(), &schema_file) {
            (true, Some(_)) => &default_rule,
            _ => &k.rules,
        };
        let mut rules = Vec::new();
        for (i, r) in configured.iter().enumerate() {
            let what = format!("kind {} rule {}", k.name, i + 1);
            let mut template = template_source(&r.template, &r.template_file, base)
                .with_context(|| what.clone())?;
            if r.reply == Reply::Answer && template.is_none() {
                let Some(path) = &schema_file else {
                    anyhow::bail!("{what}: reply = \"answer\" needs template, template_file or the kind's schema to generate the answer from");
                };
                template = Some(generated_answer(k, path).with_context(|| what.clone())?);
            }
            if let Some(t) = &template {
                compile_check(t, &what)?;
            }
            if let Some(d) = &r.reject_description {
                compile_check(d, &what)?;
            }
            let reject_code = match &r.reject_code {
                None => RejectionReasonCode::NoData,
                Some(c) => RejectionReasonCode::parse(c).ok_or_else(|| {
                    anyhow::anyhow!("{what}: reject_code {c:?} is not ACCESS_DENIED, NO_DATA, UNKNOWN_REQUEST_DESCRIPTION or FAILURE")
                })?,
            };
            rules.push(Rule {
                config: r.clone(),
                template,
                attachments: attachments(&r.attachments, base).with_context(|| what.clone())?,
                storage_files: Vec::new(),
                reject_code,
            });
        }
        let sample_request = template_source(&None, &k.sample_request, base)?;
        if let Some(t) = &sample_request {
            compile_check(t, &format!("kind {} sample_request", k.name))?;
        }
        Ok(Kind {
            request_root: QualifiedName {
                namespace: k.namespace.clone(),
                local_name: k.request.clone(),
            },
            response_root: QualifiedName {
                namespace: k.namespace.clone(),
                local_name: k.response.clone(),
            },
            config: k.clone(),
            schema,
            rules,
            sample_request,
        })
    }

    /// The provider's name for metadata.
    pub fn provider_name(&self) -> String {
        self.config
            .provider_name
            .clone()
            .unwrap_or_else(|| self.config.provider.clone())
    }

    /// The first rule matching the request values.
    pub fn rule_for(&self, v: &Values) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.config
                .when
                .iter()
                .all(|(name, want)| v.flat.get(name).is_some_and(|have| want.matches(have)))
        })
    }
}

impl Consumer {
    pub fn compile(
        c: &ConsumerConfig,
        config: &MockConfig,
        kinds: &[Kind],
    ) -> anyhow::Result<Consumer> {
        let what = format!("consumer {}", c.mnemonic);
        let kind = kinds
            .iter()
            .find(|k| k.config.name == c.kind)
            .ok_or_else(|| anyhow::anyhow!("{what}: unknown kind {:?}", c.kind))?;
        let template = match template_source(&c.template, &c.template_file, &config.base_dir)? {
            Some(t) => t,
            None => kind.sample_request.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "{what}: no template and kind {} has no sample_request",
                    c.kind
                )
            })?,
        };
        compile_check(&template, &what)?;
        Ok(Consumer {
            config: c.clone(),
            template,
            attachments: attachments(&c.attachments, &config.base_dir)?,
        })
    }
}

/// What the rule's provider sends for a request with `values`; `extra` are template variables.
pub fn plan(
    rule: &Rule,
    values: &Values,
    extra: &[(&str, String)],
    final_delay: Duration,
) -> Vec<Planned> {
    let mut out: Vec<Planned> = rule
        .config
        .statuses
        .iter()
        .map(|s| Planned {
            after: Duration::from_millis(s.after_ms),
            content: ResponseContent::Status(RequestStatus {
                code: s.code,
                parameters: s
                    .parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                description: s.description.clone(),
            }),
            attachments: Vec::new(),
            storage_files: Vec::new(),
        })
        .collect();
    let failure = |msg: String| {
        ResponseContent::Rejected(vec![Rejection {
            code: RejectionReasonCode::Failure,
            description: format!("mock-smev: {msg}"),
        }])
    };
    let last = match rule.config.reply {
        Reply::Ignore => None,
        Reply::Reject => {
            let description = match &rule.config.reject_description {
                Some(t) => render(t, values, extra).unwrap_or_else(|e| e),
                None => rule.reject_code.description_ru().to_string(),
            };
            Some(Planned {
                after: final_delay,
                content: ResponseContent::Rejected(vec![Rejection {
                    code: rule.reject_code,
                    description,
                }]),
                attachments: Vec::new(),
                storage_files: Vec::new(),
            })
        }
        Reply::Answer => {
            let rendered = rule
                .template
                .as_deref()
                .ok_or_else(|| "no template".to_string())
                .and_then(|t| render(t, values, extra))
                .and_then(|xml| {
                    build::business_content(&xml)
                        .map(|(c, _)| c)
                        .map_err(|e| format!("the rendered answer is not usable: {e}"))
                });
            Some(match rendered {
                Ok(content) => Planned {
                    after: final_delay,
                    content: ResponseContent::Primary {
                        content,
                        personal_signature: None,
                        attachment_headers: rule
                            .attachments
                            .iter()
                            .map(|a| a.header.clone())
                            .collect(),
                        ref_attachment_headers: Vec::new(),
                    },
                    attachments: rule.attachments.iter().map(|a| a.content.clone()).collect(),
                    storage_files: rule.storage_files.clone(),
                },
                Err(e) => Planned {
                    after: final_delay,
                    content: failure(e),
                    attachments: Vec::new(),
                    storage_files: Vec::new(),
                },
            })
        }
    };
    out.extend(last);
    out
}

#[cfg(test)]
mod tests {
    use super::super::config::example_kinds;
    use super::*;

    const TAX: &str = r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>R-1 &amp; co</td:RequestID><td:Taxpayer><td:Organization><td:INN>7701000122</td:INN><td:KPP>770101001</td:KPP></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#;

    #[test]
    fn values_render_and_validate() {
        let base = std::path::Path::new(".");
        let kinds: Vec<Kind> = example_kinds()
            .iter()
            .map(|k| Kind::compile(k, base).unwrap())
            .collect();
        let v = values(TAX);
        assert_eq!(v.flat["INN"], "7701000122");
        let rule = kinds[0].rule_for(&v).unwrap();
        let planned = plan(rule, &v, &[("today", "2026-11-26".into())], Duration::ZERO);
        let ResponseContent::Primary { content, .. } = &planned[0].content else {
            panic!("{planned:?}")
        };
        assert!(content.contains("R-1 &amp; co"), "{content}");
        assert!(
            content.contains("<td:HasDebt>true</td:HasDebt>"),
            "{content}"
        );
        kinds[0]
            .schema
            .as_ref()
            .unwrap()
            .validate(content.as_bytes())
            .unwrap();

        // The marriage answer copies names from the nested request.
        let req = String::from_utf8(
            resources::read("builtin:templates/zags-marriage-request.xml", base).unwrap(),
        )
        .unwrap();
        let v = values(&req);
        let planned = plan(kinds[1].rule_for(&v).unwrap(), &v, &[], Duration::ZERO);
        let ResponseContent::Primary { content, .. } = &planned[0].content else {
            panic!()
        };
        assert!(
            content.contains("<zm:LastName>Смирнова-Иванова</zm:LastName>"),
            "{content}"
        );
        kinds[1]
            .schema
            .as_ref()
            .unwrap()
            .validate(content.as_bytes())
            .unwrap();
        kinds[1]
            .schema
            .as_ref()
            .unwrap()
            .validate(req.as_bytes())
            .unwrap();
    }

    #[test]
    fn content_ids_are_ncnames() {
        assert_eq!(content_id_from("справка 1.pdf"), "________1.pdf");
        assert!(smev_protocol::xml::tree::is_ncname(&content_id_from(
            "1.pdf"
        )));
        assert!(smev_protocol::xml::tree::is_ncname(&content_id_from(
            "sample.pdf"
        )));
    }
}
