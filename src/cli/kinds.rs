//! `smev-gateway kinds import PATH` (a VS package → a `[[kinds]]` entry) and `kinds show ID`
//! (the field tree the gateway understood from a configured kind's schema).
//!
//! Import checks the package the way the gateway will use it: libxml2 must compile the main
//! schema (it validates every message), and both roots must expand into field trees (forms,
//! generated answers). The entry is printed, or appended to a configuration with `--append`,
//! which is then loaded again so that what was written is known to parse.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use smev_gateway::config::{Config, PersonalSignatureMode};
use smev_gateway::smev::schema::Schema;
use smev_gateway::xsd::components::QName;
use smev_gateway::xsd::{show, Package};

use super::CmdResult;

#[derive(Debug, Subcommand)]
pub enum KindsCommand {
    /// Read a VS package (a folder with its XSD files) and print a `[[kinds]]` entry for it.
    Import(ImportArgs),
    /// Print the fields of a configured kind's request and response as the gateway reads them.
    Show {
        /// The kind's id in the configuration.
        id: String,
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The package folder, or its `.zip` (unpacked into `--into`).
    path: PathBuf,
    /// Where a `.zip` is unpacked (a new or empty folder; default: beside the archive, named
    /// after it).
    #[arg(long)]
    into: Option<PathBuf>,
    /// The main schema inside the package, when several files are imported by none.
    #[arg(long)]
    main: Option<PathBuf>,
    /// Local name of the request root (default: the global element ending in `Request`).
    #[arg(long)]
    request: Option<String>,
    /// Local name of the response root (default: the global element ending in `Response`).
    #[arg(long)]
    response: Option<String>,
    /// Kind id (default: the package folder's name).
    #[arg(long)]
    id: Option<String>,
    /// Kind name shown to staff (default: the request root's documentation).
    #[arg(long)]
    name: Option<String>,
    /// ЭП-СП mode: none, two_phase or configured.
    #[arg(long, default_value = "none")]
    personal_signature: String,
    /// Legal answer deadline in working days.
    #[arg(long, default_value_t = 5)]
    deadline_working_days: u32,
    /// Append the entry to this configuration file (then load it again to check it).
    #[arg(long)]
    append: Option<PathBuf>,
}

pub fn run(c: KindsCommand) -> CmdResult {
    match c {
        KindsCommand::Import(a) => import(a),
        KindsCommand::Show { id, config } => show_kind(&id, &config),
    }
}

/// The package folder: `path` itself, or the folder its `.zip` is unpacked into.
fn package_folder(path: &Path, into: Option<&Path>) -> Result<PathBuf, String> {
    let is_zip = path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if !is_zip {
        return path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let target = into
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.with_extension(""));
    let occupied = std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(format!(
            "{} already holds files: unpack into a new folder (--into)",
            target.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let files = smev_gateway::xsd::zip::extract(&bytes, &target)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "{}: {} files unpacked into {}",
        path.display(),
        files.len(),
        target.display()
    );
    // An archive often holds the package in one folder of its own.
    let canonical = target
        .canonicalize()
        .map_err(|e| format!("{}: {e}", target.display()))?;
    let entries: Vec<PathBuf> = std::fs::read_dir(&canonical)
        .map_err(|e| format!("{}: {e}", canonical.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Ok(canonical),
    }
}

fn import(a: ImportArgs) -> CmdResult {
    let dir = package_folder(&a.path, a.into.as_deref())?;
    let package = Package::open(&dir, a.main.as_deref()).map_err(|e| e.to_string())?;
    let request = package
        .request_root(a.request.as_deref())
        .map_err(|e| format!("{e} (--request)"))?;
    let response = package
        .response_root(a.response.as_deref())
        .map_err(|e| format!("{e} (--response)"))?;
    let request_tree = package.describe(&request).map_err(|e| e.to_string())?;
    package.describe(&response).map_err(|e| e.to_string())?;
    let main = dir.join(&package.main);
    Schema::load(&main).map_err(|e| format!("libxml2 does not compile {}: {e}", main.display()))?;
    let mode = personal_mode(&a.personal_signature)?;
    let id = a.id.clone().unwrap_or_else(|| kind_id(&dir));
    let name = a
        .name
        .clone()
        .or(request_tree.documentation.clone())
        .unwrap_or_else(|| request.local.clone());
    let entry = entry(&EntryFields {
        id: &id,
        name: &name,
        request: &request,
        response: &response,
        schema: &main,
        package: (package.main.parent() != Some(Path::new(""))).then_some(dir.as_path()),
        mode,
        deadline: a.deadline_working_days,
    });
    match &a.append {
        None => print!("{entry}"),
        Some(file) => append(file, &id, &entry)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn personal_mode(s: &str) -> Result<PersonalSignatureMode, String> {
    toml::Value::String(s.to_string())
        .try_into()
        .map_err(|_| format!("--personal-signature {s:?}: expected none, two_phase or configured"))
}

/// A kind id from the package folder: lower case ASCII letters, digits and `-`; a folder named
/// by a version (`fns-egrul/4.0.6`) is prefixed with its parent's name (`fns-egrul-4-0-6`).
pub(super) fn kind_id(dir: &Path) -> String {
    let slug = |p: Option<&std::ffi::OsStr>| -> String {
        let name = p
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let s: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        s.trim_matches('-').to_string()
    };
    let own = slug(dir.file_name());
    let id = if own.starts_with(|c: char| c.is_ascii_digit()) {
        let parent = slug(dir.parent().and_then(Path::file_name));
        format!("{parent}-{own}").trim_matches('-').to_string()
    } else {
        own
    };
    if id.is_empty() {
        "imported-kind".into()
    } else {
        id
    }
}

struct EntryFields<'a> {
    id: &'a str,
    name: &'a str,
    request: &'a QName,
    response: &'a QName,
    schema: &'a Path,
    package: Option<&'a Path>,
    mode: PersonalSignatureMode,
    deadline: u32,
}

/// The `[[kinds]]` entry as TOML (strings quoted by the TOML library, so any name is safe).
fn entry(f: &EntryFields) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let root = |n: &QName| {
        format!(
            "{{ namespace = {}, root = {} }}",
            q(n.ns.as_deref().unwrap_or_default()),
            q(&n.local)
        )
    };
    let mode = toml::Value::try_from(f.mode)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut out = String::from("\n# Imported by `smev-gateway kinds import`.\n[[kinds]]\n");
    out.push_str(&format!("id = {}\nname = {}\n", q(f.id), q(f.name)));
    out.push_str(&format!(
        "request = {}\nresponse = {}\n",
        root(f.request),
        root(f.response)
    ));
    out.push_str(&format!(
        "schema = {}\n",
        q(&f.schema.display().to_string())
    ));
    if let Some(p) = f.package {
        out.push_str(&format!("package = {}\n", q(&p.display().to_string())));
    }
    out.push_str(&format!(
        "personal_signature = {mode}\ndeadline_working_days = {}\n",
        f.deadline
    ));
    out
}

/// Appends the entry unless the id is taken, then loads the file again.
fn append(file: &Path, id: &str, entry: &str) -> Result<(), String> {
    let before = Config::load(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if before.kinds.iter().any(|k| k.id == id) {
        return Err(format!(
            "{}: a kind with id {id:?} is already configured (--id)",
            file.display()
        ));
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    f.write_all(entry.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Config::load(file).map_err(|e| format!("{} after appending: {e}", file.display()))?;
    eprintln!("kind {id} appended to {}", file.display());
    Ok(())
}

fn show_kind(id: &str, config: &Path) -> CmdResult {
    let cfg = Config::load(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let kind = cfg
        .kinds
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| format!("no kind {id:?} in {}", config.display()))?;
    let (dir, main) = kind.package_and_schema();
    let package = Package::open(&dir, Some(&main)).map_err(|e| format!("kind {id}: {e}"))?;
    println!(
        "{} — {}\nschema: {}\n",
        kind.id,
        kind.name,
        kind.schema.display()
    );
    for (role, root) in [("request", &kind.request), ("response", &kind.response)] {
        let q = QName::new(Some(&root.namespace), &root.root);
        let tree = package
            .describe(&q)
            .map_err(|e| format!("kind {id}: {role}: {e}"))?;
        println!("{role} {q}\n{}", show::render(&tree));
    }
    Ok(ExitCode::SUCCESS)
}
