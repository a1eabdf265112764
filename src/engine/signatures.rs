//! Signature checks of a received envelope, the same for every direction: every signature
//! present must verify (SMEV's own against `smev.trust`, when configured), and the element the
//! parser reads must itself be covered by a valid ЭП-СМЭВ.

use crate::domain::SignatureSummary;
use crate::dsig::verify::{find_signatures, verify_signature, SignatureReport, VerifyOptions};
use crate::smev::parse;

use super::Context;

/// Signature checks of a received envelope, per the configuration: every signature present must
/// verify (SMEV's own against `smev.trust`, when configured), and the element the parser reads
/// (`Response`, `Request` or `AsyncProcessingStatusData`) must itself be covered by a valid
/// ЭП-СМЭВ — so a forged element slipped in beside a genuine signed one is refused.
pub(crate) fn check_signatures(
    ctx: &Context,
    envelope: &[u8],
) -> (Vec<SignatureSummary>, Vec<String>) {
    if !ctx.config.smev.verify_answers {
        return (Vec::new(), Vec::new());
    }
    let mut problems = Vec::new();
    let env = match parse::envelope(envelope) {
        Ok(e) => e,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!(
                    "the envelope cannot be read for signature checks: {e}"
                )],
            )
        }
    };
    let doc = &env.doc;
    let mut summaries = Vec::new();
    let mut smev_covered: Vec<String> = Vec::new();
    let signatures = find_signatures(doc);
    if signatures.len() > crate::dsig::verify::MAX_SIGNATURES {
        return (
            Vec::new(),
            vec![format!(
                "{} signatures in one envelope (at most {} are verified)",
                signatures.len(),
                crate::dsig::verify::MAX_SIGNATURES
            )],
        );
    }
    for sig in signatures {
        let by_smev = doc
            .node(sig)
            .parent
            .and_then(|p| doc.element(p))
            .is_some_and(|e| e.local == "SMEVSignature");
        let opts = VerifyOptions {
            trust: if by_smev {
                ctx.smev_trust.as_ref()
            } else {
                None
            },
            require_valid_certificate: false,
            at: None,
        };
        let r: SignatureReport = verify_signature(doc, sig, &opts);
        ctx.metrics
            .signatures
            .with_label_values(&["verify", if r.valid { "ok" } else { "failed" }])
            .inc();
        if r.valid && by_smev {
            smev_covered.extend(r.referenced_ids().into_iter().map(str::to_string));
        }
        if !r.valid {
            problems.push(format!(
                "{}: {}",
                r.location,
                r.causes
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        let trusted = r.valid && opts.trust.is_some() && r.certificate_trusted == Some(Ok(()));
        summaries.push(SignatureSummary {
            location: r.location.clone(),
            valid: r.valid,
            trusted,
            signer: r.certificate.as_ref().map(|c| c.subject.clone()),
            not_before: r.certificate.as_ref().map(|c| c.not_before),
            not_after: r.certificate.as_ref().map(|c| c.not_after),
            problems: r
                .causes
                .iter()
                .map(|c| c.to_string())
                .chain(r.warnings.iter().cloned())
                .collect(),
        });
    }
    if let Some(target) = parse::smev_signed_element(&env) {
        let el = doc.element(target);
        let id = el.and_then(|e| e.attr("Id"));
        let bound = id.is_some_and(|id| {
            smev_covered.iter().any(|c| c == id) && doc.find_by_id(id).ok() == Some(target)
        });
        if !bound {
            problems.push(format!(
                "<{}> is not covered by a valid SMEV signature (SMEVSignature)",
                el.map(|e| e.local.as_str()).unwrap_or("?")
            ));
        }
    }
    (summaries, problems)
}
