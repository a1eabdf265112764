//! `cargo bench --bench signing`: throughput of the signature core on a 10 KB
//! SenderProvidedRequestData — exclusive c14n MB/s, SMEV transform MB/s, sign/s and verify/s of
//! a whole SMEV signature — next to raw OpenSSL GOST sign/s and verify/s of the same bytes with
//! the same key, measured in the same run, so the cost of the XML work shows as a ratio beside
//! its target. Prints figures; asserts nothing.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use smev_gateway::dsig::sign::{self, Placement};
use smev_gateway::dsig::verify::{verify_document, VerifyOptions};
use smev_gateway::dsig::{OpenSslSigner, Signer};
use smev_gateway::xml::c14n::{self, Options};
use smev_gateway::xml::{transform, Document};

fn document(target_bytes: usize) -> Vec<u8> {
    let mut items = String::new();
    let mut i = 0;
    while items.len() < target_bytes {
        items.push_str(&format!(
            "\n            <td:Debt Kind=\"налог\" Code=\"1821010201001100011{}\"><td:Amount>{}.50</td:Amount><td:Comment>Задолженность по налогу на прибыль организаций &amp; пени</td:Comment></td:Debt>",
            i % 10,
            1000 + i
        ));
        i += 1;
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3" xmlns:basic="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3">
  <soap:Body>
    <tns:SendRequestRequest>
      <tns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER">
        <tns:MessageID>6b1ae1c0-cb7e-11f0-8a3d-0242ac120002</tns:MessageID>
        <basic:MessagePrimaryContent>
          <td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0">{items}
          </td:TaxDebtRequest>
        </basic:MessagePrimaryContent>
      </tns:SenderProvidedRequestData>
      <tns:CallerInformationSystemSignature/>
    </tns:SendRequestRequest>
  </soap:Body>
</soap:Envelope>"#
    )
    .into_bytes()
}

/// Runs `f` repeatedly for about `budget` and returns operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let signer = |name: &str| {
        OpenSslSigner::from_pem_files(
            &root.join(format!("certs-example/{name}.key.pem")),
            &root.join(format!("certs-example/{name}.cert.pem")),
            None,
        )
        .expect("certs-example keys")
    };
    let ov = signer("ov");
    let ov512 = signer("ov512");

    let source = document(10 * 1024);
    let doc = Document::parse(&source).unwrap();
    let target = doc.find_by_id("SIGNED_BY_CONSUMER").unwrap();
    let element_len = doc.raw(target).len();
    let canonical = c14n::canonicalize_subtree(&doc, target, None, &Options::exclusive());
    let transformed = transform::transform_bytes(&canonical).unwrap();

    println!("signature core benchmark, SenderProvidedRequestData of {element_len} bytes ({} bytes canonical, {} bytes transformed)", canonical.len(), transformed.len());
    let mb = |bytes: usize, per_sec: f64| bytes as f64 * per_sec / 1e6;

    let parse = rate(budget, || {
        black_box(Document::parse(black_box(&source)).unwrap());
    });
    println!(
        "  parse (whole envelope)      {:>10.1} MB/s",
        mb(source.len(), parse)
    );
    let c14n_rate = rate(budget, || {
        black_box(c14n::canonicalize_subtree(
            &doc,
            target,
            None,
            &Options::exclusive(),
        ));
    });
    println!(
        "  exclusive c14n              {:>10.1} MB/s",
        mb(element_len, c14n_rate)
    );
    let t_rate = rate(budget, || {
        black_box(transform::transform_bytes(black_box(&canonical)).unwrap());
    });
    println!(
        "  SMEV transform (incl. parse){:>10.1} MB/s",
        mb(canonical.len(), t_rate)
    );
    let one_pass = rate(budget, || {
        black_box(transform::transform_canonical_subtree(&doc, target, None).unwrap());
    });
    println!(
        "  c14n + transform, one pass  {:>10.1} MB/s   (what signing digests; target ≥ 300 MB/s)",
        mb(element_len, one_pass)
    );
    println!(
        "  parse target ≥ 400 MB/s: {:.0} % of it",
        mb(source.len(), parse) / 4.0
    );

    for (name, s) in [("GOST 2012-256", &ov), ("GOST 2012-512", &ov512)] {
        let xml_sign = rate(budget, || {
            black_box(sign::sign(&source, "SIGNED_BY_CONSUMER", s, Placement::Auto).unwrap());
        });
        let signed = sign::sign(&source, "SIGNED_BY_CONSUMER", s, Placement::Auto).unwrap();
        let xml_verify = rate(budget, || {
            let r = verify_document(&signed, &VerifyOptions::default()).unwrap();
            assert!(r[0].valid);
        });
        let raw_sign = rate(budget, || {
            black_box(s.sign(black_box(&transformed)).unwrap());
        });
        // Raw verify of the same bytes: the digest and one GOST verification, as the XMLDSig
        // verify needs for its reference and SignedInfo together.
        let key = s.certificate().public_key().unwrap();
        let md = s.algorithm().digest().message_digest().unwrap();
        let value = s.sign(&transformed).unwrap();
        let raw_verify = rate(budget, || {
            let mut v = openssl::sign::Verifier::new(md, &key).unwrap();
            v.update(black_box(&transformed)).unwrap();
            assert!(v.verify(&value).unwrap());
        });
        println!("  {name}: XMLDSig sign {xml_sign:>8.0}/s, raw OpenSSL sign of the same bytes {raw_sign:>8.0}/s: {:.0} % of raw (overhead x{:.2}; target ≥ 80 %)", 100.0 * xml_sign / raw_sign, raw_sign / xml_sign);
        println!("  {name}: XMLDSig verify {xml_verify:>6.0}/s, raw OpenSSL verify of the same bytes {raw_verify:>6.0}/s: {:.0} % of raw (target ≥ 80 %)", 100.0 * xml_verify / raw_verify);
    }
}
