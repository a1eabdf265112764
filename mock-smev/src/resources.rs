//! Built-in resources compiled into mock-smev, so that it runs from any directory (and inside the
//! gateway's `dev` mode) without a checkout: the test PKI pieces it needs, the message-exchange 1.3
//! schemas with the example kinds, answer templates and sample attachments.
//!
//! Configuration values name a resource either as a file path or as `builtin:NAME` (see
//! [`BUILTIN`]). XSD files are written once into a content-addressed directory under the system
//! temporary directory, because libxml2 resolves `xs:import`/`xs:include` from files.

use std::path::{Path, PathBuf};

/// Prefix of a built-in resource name in configuration values.
pub const PREFIX: &str = "builtin:";

/// Every built-in resource: (name, bytes).
pub const BUILTIN: &[(&str, &[u8])] = &[
    (
        "certs/ca.cert.pem",
        include_bytes!("../../certs-example/ca.cert.pem"),
    ),
    (
        "certs/smev.key.pem",
        include_bytes!("../../certs-example/smev.key.pem"),
    ),
    (
        "certs/smev.cert.pem",
        include_bytes!("../../certs-example/smev.cert.pem"),
    ),
    (
        "certs/provider.key.pem",
        include_bytes!("../../certs-example/provider.key.pem"),
    ),
    (
        "certs/provider.cert.pem",
        include_bytes!("../../certs-example/provider.cert.pem"),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-envelope-1.3.xsd",
        include_bytes!("../../schemas/smev-message-exchange-1.3/smev-envelope-1.3.xsd"),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-message-exchange-basic-1.3.xsd",
        include_bytes!(
            "../../schemas/smev-message-exchange-1.3/smev-message-exchange-basic-1.3.xsd"
        ),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-message-exchange-directive-1.3.xsd",
        include_bytes!(
            "../../schemas/smev-message-exchange-1.3/smev-message-exchange-directive-1.3.xsd"
        ),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-message-exchange-faults-1.3.xsd",
        include_bytes!(
            "../../schemas/smev-message-exchange-1.3/smev-message-exchange-faults-1.3.xsd"
        ),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-message-exchange-routing-1.3.xsd",
        include_bytes!(
            "../../schemas/smev-message-exchange-1.3/smev-message-exchange-routing-1.3.xsd"
        ),
    ),
    (
        "schemas/smev-message-exchange-1.3/smev-message-exchange-types-1.3.xsd",
        include_bytes!(
            "../../schemas/smev-message-exchange-1.3/smev-message-exchange-types-1.3.xsd"
        ),
    ),
    (
        "schemas/smev-message-exchange-1.3/soap-envelope-1.1.xsd",
        include_bytes!("../../schemas/smev-message-exchange-1.3/soap-envelope-1.1.xsd"),
    ),
    (
        "schemas/smev-message-exchange-1.3/xmldsig-core-schema.xsd",
        include_bytes!("../../schemas/smev-message-exchange-1.3/xmldsig-core-schema.xsd"),
    ),
    (
        "schemas/kinds/fns-tax-debt-1.0.xsd",
        include_bytes!("../../schemas/kinds/fns-tax-debt-1.0.xsd"),
    ),
    (
        "schemas/kinds/zags-marriage-1.0.xsd",
        include_bytes!("../../schemas/kinds/zags-marriage-1.0.xsd"),
    ),
    (
        "schemas/kinds/smev-envelope-1.3-example-kinds.xsd",
        include_bytes!("../../schemas/kinds/smev-envelope-1.3-example-kinds.xsd"),
    ),
    (
        "templates/fns-tax-debt-request.xml",
        include_bytes!("../scenarios/templates/fns-tax-debt-request.xml"),
    ),
    (
        "templates/fns-tax-debt-response.xml",
        include_bytes!("../scenarios/templates/fns-tax-debt-response.xml"),
    ),
    (
        "templates/zags-marriage-request.xml",
        include_bytes!("../scenarios/templates/zags-marriage-request.xml"),
    ),
    (
        "templates/zags-marriage-response.xml",
        include_bytes!("../scenarios/templates/zags-marriage-response.xml"),
    ),
    (
        "samples/sample.pdf",
        include_bytes!("../samples/sample.pdf"),
    ),
    (
        "samples/sample.xlsx",
        include_bytes!("../samples/sample.xlsx"),
    ),
    (
        "samples/sample.png",
        include_bytes!("../samples/sample.png"),
    ),
];

/// Why a resource cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("unknown built-in resource {0:?} (known: {1})")]
    UnknownBuiltin(String, String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the built-in schemas to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

fn builtin(name: &str) -> Result<&'static [u8], ResourceError> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            ResourceError::UnknownBuiltin(
                name.to_string(),
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// Resolves a file path of a configuration value against `base`.
pub fn resolve_path(value: &str, base: &Path) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The bytes of a resource (`builtin:NAME` or a path relative to `base`).
pub fn read(value: &str, base: &Path) -> Result<Vec<u8>, ResourceError> {
    match value.strip_prefix(PREFIX) {
        Some(name) => builtin(name).map(<[u8]>::to_vec),
        None => {
            let path = resolve_path(value, base);
            std::fs::read(&path).map_err(|source| ResourceError::Read {
                path: path.display().to_string(),
                source,
            })
        }
    }
}

/// A file system path for an XSD resource: built-in schemas are materialized first.
pub fn schema_path(value: &str, base: &Path) -> Result<PathBuf, ResourceError> {
    match value.strip_prefix(PREFIX) {
        Some(name) => {
            builtin(name)?;
            let rel = name.strip_prefix("schemas/").unwrap_or(name);
            Ok(materialized_schemas()?.join(rel))
        }
        None => Ok(resolve_path(value, base)),
    }
}

/// FNV-1a over the built-in schemas: names the directory they are written to.
fn schemas_digest() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, bytes) in BUILTIN.iter().filter(|(n, _)| n.starts_with("schemas/")) {
        for b in name.as_bytes().iter().chain(bytes.iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Writes the built-in schemas (once per content) and returns their root directory.
pub fn materialized_schemas() -> Result<PathBuf, ResourceError> {
    let root = std::env::temp_dir().join(format!("mock-smev-schemas-{:016x}", schemas_digest()));
    for (name, bytes) in BUILTIN.iter().filter(|(n, _)| n.starts_with("schemas/")) {
        let rel = name.strip_prefix("schemas/").unwrap_or(name);
        let path = root.join(rel);
        if std::fs::read(&path).is_ok_and(|existing| existing == *bytes) {
            continue;
        }
        let werr = |source| ResourceError::Write {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(werr)?;
        }
        // Write then rename, so that concurrent processes never see a half-written file.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(werr)?;
        std::fs::rename(&tmp, &path).map_err(werr)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_resolve_and_schemas_materialize() {
        let base = Path::new("/nonexistent");
        assert!(read("builtin:samples/sample.pdf", base)
            .unwrap()
            .starts_with(b"%PDF-"));
        assert!(read("builtin:nope", base).is_err());
        assert!(read("nope.txt", base).is_err());
        let p = schema_path("builtin:schemas/kinds/fns-tax-debt-1.0.xsd", base).unwrap();
        assert!(p.is_file());
        let driver = schema_path(
            "builtin:schemas/smev-message-exchange-1.3/smev-envelope-1.3.xsd",
            base,
        )
        .unwrap();
        assert!(smev_protocol::smev::schema::Schema::load(&driver).is_ok());
    }
}
