//! `smev-gateway xml c14n|transform`: the canonicalization and transform of the signature core,
//! exposed for integrators who need to see the exact bytes that get digested.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use smev_gateway::xml::c14n::{self, Options};
use smev_gateway::xml::transform;
use smev_gateway::xml::Document;

use super::{read_input, write_stdout, CmdResult};

#[derive(Debug, Subcommand)]
pub enum XmlCommand {
    /// Exclusive XML Canonicalization 1.0 of a document or of the element with an Id.
    C14n {
        file: PathBuf,
        /// Canonicalize only the element with this Id (in its document context).
        #[arg(long)]
        id: Option<String>,
        /// Keep comments (exc-c14n#WithComments).
        #[arg(long)]
        with_comments: bool,
        /// InclusiveNamespaces PrefixList entry (repeatable; "#default" for the default namespace).
        #[arg(long = "prefix")]
        prefixes: Vec<String>,
    },
    /// The SMEV transform (urn://smev-gov-ru/xmldsig/transform) of a document or of the element
    /// with an Id, applied after exclusive c14n exactly as when signing.
    Transform {
        file: PathBuf,
        #[arg(long)]
        id: Option<String>,
    },
}

pub fn run(cmd: XmlCommand) -> CmdResult {
    match cmd {
        XmlCommand::C14n {
            file,
            id,
            with_comments,
            prefixes,
        } => {
            let doc = Document::parse(&read_input(&file)?).map_err(|e| e.to_string())?;
            let opts = Options {
                with_comments,
                inclusive_prefixes: prefixes,
            };
            let out = match id {
                Some(id) => {
                    let n = doc.find_by_id(&id).map_err(|e| e.to_string())?;
                    c14n::canonicalize_subtree(&doc, n, None, &opts)
                }
                None => c14n::canonicalize_document(&doc, &opts),
            };
            write_stdout(&out)?;
        }
        XmlCommand::Transform { file, id } => {
            let doc = Document::parse(&read_input(&file)?).map_err(|e| e.to_string())?;
            let apex = match id {
                Some(id) => doc.find_by_id(&id).map_err(|e| e.to_string())?,
                None => doc.root(),
            };
            let canon = c14n::canonicalize_subtree(&doc, apex, None, &Options::exclusive());
            let out = transform::transform_bytes(&canon).map_err(|e| e.to_string())?;
            write_stdout(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
