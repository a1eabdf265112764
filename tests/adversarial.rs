//! Generated hostile input for every parser a peer reaches — the XML tree, exclusive c14n, the
//! SMEV transform, the SOAP parsers (answers, requests, faults), MIME/MTOM and XOP, signature
//! verification — by a seeded mutation loop (stable Rust, no fuzzing toolchain), plus the
//! structural attacks that made earlier versions quadratic or exhausted memory. Every case must
//! end in a value or an error, never a panic, and the whole of each case must finish within a
//! generous bound (a hang guard: the quadratic cases used to take minutes).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::*;
use smev_gateway::dsig::sign::{self, Placement};
use smev_gateway::dsig::verify::{verify_document, VerifyOptions};
use smev_gateway::smev::mtom::{self, MimePart};
use smev_gateway::smev::parse;
use smev_gateway::xml::c14n::{canonicalize_document, Options};
use smev_gateway::xml::transform::transform_subtree;
use smev_gateway::xml::Document;

/// Far above what any bounded case needs, far below what the quadratic ones took.
const CASE_BOUND: Duration = Duration::from_secs(10);

const XOP: &str = "http://www.w3.org/2004/08/xop/include";

/// Runs `input` through every parser; panics propagate to the caller's `catch_unwind`.
fn every_parser(input: &[u8]) {
    if let Ok(doc) = Document::parse(input) {
        let _ = canonicalize_document(&doc, &Options::exclusive());
        let _ = transform_subtree(&doc, doc.root());
    }
    let _ = parse::get_response_answer(input);
    let _ = parse::get_request_answer(input);
    let _ = parse::send_answer(input);
    let _ = parse::get_status_answer(input);
    let _ = parse::incoming_call(input);
    let _ = parse::ack_answer(input);
    let _ = verify_document(input, &VerifyOptions::default());
    for ctype in [
        "multipart/related; type=\"application/xop+xml\"; start=\"<root>\"; boundary=\"b\"",
        "text/xml",
    ] {
        if let Ok(xml) = mtom::xml_of_body(ctype, input) {
            let _ = parse::get_response_answer(&xml);
        }
    }
}

/// Runs one case and checks it neither panicked nor ran away.
fn case(what: &str, input: &[u8]) -> Duration {
    let started = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| every_parser(input)));
    let took = started.elapsed();
    assert!(r.is_ok(), "{what}: a parser panicked");
    assert!(took < CASE_BOUND, "{what}: took {took:?}");
    took
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#x85;",
    b"&#0;",
    b"\"",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    b"&a;",
    b" xmlns:q=\"urn:q\"",
    b" q:a=\"1\"",
    b" xml:lang=\"ru\"",
    b" Id=\"SIGNED_BY_SMEV\"",
    b"</",
    b"/>",
    b"<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:p\"/>",
    b"\r\n--b\r\n",
    b"\r\n\r\n",
    b"--b--",
    b"Content-ID: <p>\r\n",
    b"\xe2\x80\xae",
    b"\xff\xfe",
    b"<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo/></ds:Signature>",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut doc = seed.to_vec();
    for _ in 0..1 + rng.below(5) {
        if doc.is_empty() {
            doc.extend_from_slice(b"<a/>");
        }
        let pos = rng.below(doc.len());
        match rng.below(6) {
            0 => doc[pos] = rng.next() as u8,
            1 => doc.truncate(pos),
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                doc.splice(pos..pos, t.iter().copied());
            }
            3 => {
                let end = (pos + rng.below(128)).min(doc.len());
                doc.drain(pos..end);
            }
            4 => {
                // Amplification: one slice repeated many times.
                let end = (pos + 1 + rng.below(256)).min(doc.len());
                let slice = doc[pos..end].to_vec();
                let times = 1 + rng.below(200);
                for _ in 0..times {
                    doc.splice(end..end, slice.iter().copied());
                }
            }
            _ => {
                let a = rng.below(doc.len());
                let b = rng.below(doc.len());
                doc.swap(a, b);
            }
        }
    }
    doc
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for dir in [
        "tests/fixtures/schemas/envelopes",
        "tests/fixtures/dsig",
        "tests/fixtures/c14n",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        out.extend(files.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    // A signed document, so that mutations reach digest and signature checks.
    let doc = "<a xmlns=\"urn:x\"><b Id=\"SIGNED\">текст &amp; данные</b></a>";
    out.push(
        sign::sign(
            doc.as_bytes(),
            "SIGNED",
            &example_signer("ov"),
            Placement::Auto,
        )
        .unwrap(),
    );
    // A multipart message with an XOP include.
    let root_xml = format!(
        "<a xmlns:xop=\"{XOP}\"><AttachmentContent><Content><xop:Include href=\"cid:p\"/></Content></AttachmentContent></a>"
    );
    let part = MimePart {
        content_id: "p".into(),
        content_type: "application/pdf".into(),
        body: b"%PDF-1.4 \r\n--b\r\n binary".to_vec(),
    };
    out.push(mtom::build(root_xml.as_bytes(), &[part], "b").1);
    out
}

#[test]
fn mutated_input_never_panics_any_parser() {
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seeds = seeds();
    assert!(seeds.len() > 20, "{} seeds", seeds.len());
    let mut rng = Rng(0x005E_ED0F_5EED_u64);
    let mut slowest = Duration::ZERO;
    for i in 0..iterations {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        slowest = slowest.max(case(&format!("mutation {i}"), &input));
    }
    println!("{iterations} mutated cases, slowest {slowest:?}");
}

/// A root with `n` `xop:Include`s of part `p`.
fn includes_of_one_part(n: usize) -> String {
    format!(
        "<a xmlns:xop=\"{XOP}\">{}</a>",
        "<AttachmentContent><Content><xop:Include href=\"cid:p\"/></Content></AttachmentContent>"
            .repeat(n)
    )
}

/// The structural attacks, each at a size that was quadratic (or unbounded) before.
#[test]
fn structural_attacks_are_bounded() {
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
    let ns_decls: String = (0..100_000)
        .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
        .collect();
    let deep_ns = {
        let mut s = String::new();
        for i in 0..250 {
            s.push_str(&format!(
                "<p{i}:e xmlns:p{i}=\"urn:{i}\" xmlns:q{i}=\"urn:q{i}\">"
            ));
        }
        s.push_str(&"<p249:leaf/>".repeat(50_000));
        for i in (0..250).rev() {
            s.push_str(&format!("</p{i}:e>"));
        }
        s
    };
    let entities = format!(
        "<a xmlns=\"urn:x\">{}</a>",
        "&amp;&#x85;&gt;".repeat(100_000)
    );
    let many_ids = format!(
        "<a xmlns=\"urn:x\">{}</a>",
        (0..50_000)
            .map(|i| format!("<b Id=\"i{i}\"/>"))
            .collect::<String>()
    );
    let many_signatures = format!(
        "<a xmlns=\"urn:x\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><b Id=\"B\">{}</b>{}</a>",
        "x".repeat(100_000),
        "<ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256\"/><ds:Reference URI=\"#B\"><ds:DigestMethod Algorithm=\"urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256\"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>".repeat(2_000)
    );
    let includes = includes_of_one_part(600);
    let big_part = MimePart {
        content_id: "p".into(),
        content_type: "application/octet-stream".into(),
        body: vec![b'A'; 8 * 1024 * 1024],
    };
    let amplified = mtom::build(includes.as_bytes(), &[big_part], "b").1;
    let many_parts = {
        let parts: Vec<MimePart> = (0..60_000)
            .map(|i| MimePart {
                content_id: format!("p{i}"),
                content_type: "application/octet-stream".into(),
                body: b"x".to_vec(),
            })
            .collect();
        mtom::build(b"<a/>", &parts, "b").1
    };
    let endless_header = {
        let mut b = b"--b\r\nContent-ID: <root>\r\nX: ".to_vec();
        b.extend(std::iter::repeat_n(b'h', 4 * 1024 * 1024));
        b
    };
    let false_boundaries = {
        let mut b = b"--b\r\nContent-ID: <root>\r\n\r\n<a/>".to_vec();
        b.extend(b"\r\n--".repeat(1_000_000));
        b.extend_from_slice(b"\r\n--b--");
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("100,000 attributes", format!("<a{attrs}/>").into_bytes()),
        (
            "100,000 namespace declarations",
            format!("<a{ns_decls}/>").into_bytes(),
        ),
        ("deep scopes over 50,000 leaves", deep_ns.into_bytes()),
        ("300,000 references", entities.into_bytes()),
        ("50,000 Ids", many_ids.into_bytes()),
        (
            "2,000 signatures over one element",
            many_signatures.into_bytes(),
        ),
        ("600 includes of one 8 MiB part", amplified),
        ("60,000 MIME parts", many_parts),
        ("a 4 MiB header block", endless_header),
        ("a million false boundaries", false_boundaries),
    ];
    for (what, input) in &cases {
        let took = case(what, input);
        println!("{what}: {} bytes in {took:?}", input.len());
    }
}

#[test]
fn amplified_xop_is_refused_before_any_allocation_of_its_size() {
    let includes = includes_of_one_part(2);
    let part = MimePart {
        content_id: "p".into(),
        content_type: "application/octet-stream".into(),
        body: vec![0u8; 1024],
    };
    let e = mtom::resolve_xop(includes.as_bytes(), &[part]).unwrap_err();
    assert!(e.to_string().contains("more than once"), "{e}");
}
