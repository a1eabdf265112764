//! VS packages as `.zip`: archives written by Python's `zipfile` (an independent writer, deflated
//! and stored entries, a subfolder, Cyrillic names) unpack to the same bytes; a name that climbs
//! out of the folder, a bomb and a damaged archive are refused with the reason, writing nothing
//! outside the target.

use std::path::{Path, PathBuf};
use std::process::Command;

use smev_protocol::xsd::zip::{extract, ZipError};

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/vs/example-passport")
}

/// Runs a Python snippet that writes `out` (python3 is one of the tests' oracles).
fn python(script: &str, out: &Path) {
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(out)
        .arg(package())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "python3 failed");
}

#[test]
fn an_archive_from_another_writer_unpacks_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("p.zip");
    python(
        r#"
import sys, zipfile, pathlib
out, src = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(out, "w") as z:
    z.write(src / "example-passport-1.0.xsd", "пакет/example-passport-1.0.xsd", compress_type=zipfile.ZIP_DEFLATED)
    z.write(src / "commons/example-commons-1.0.xsd", "пакет/commons/example-commons-1.0.xsd", compress_type=zipfile.ZIP_STORED)
    z.writestr("пакет/samples/", "")
    z.writestr("пакет/big.txt", "Повтор. " * 50000, compress_type=zipfile.ZIP_DEFLATED)
"#,
        &zip,
    );
    let into = dir.path().join("out");
    let files = extract(&std::fs::read(&zip).unwrap(), &into).unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    for (inside, original) in [
        ("пакет/example-passport-1.0.xsd", "example-passport-1.0.xsd"),
        (
            "пакет/commons/example-commons-1.0.xsd",
            "commons/example-commons-1.0.xsd",
        ),
    ] {
        assert_eq!(
            std::fs::read(into.join(inside)).unwrap(),
            std::fs::read(package().join(original)).unwrap()
        );
    }
    assert_eq!(
        std::fs::read_to_string(into.join("пакет/big.txt")).unwrap(),
        "Повтор. ".repeat(50000)
    );
}

#[test]
fn hostile_archives_are_refused() {
    type Expected = fn(&ZipError) -> bool;
    let cases: [(&str, Expected); 3] = [
        (
            r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("../escaped.xsd", "<x/>")
"#,
            |e| matches!(e, ZipError::Entry { what, .. } if what.contains("climbing")),
        ),
        (
            r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("bomb.xsd", b"\0" * (20 * 1024 * 1024))
"#,
            |e| matches!(e, ZipError::Entry { what, .. } if what.contains("more than")),
        ),
        (
            r#"
import sys
open(sys.argv[1], "wb").write(b"PK\x03\x04 not really a zip")
"#,
            |e| matches!(e, ZipError::NotZip),
        ),
    ];
    for (script, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("h.zip");
        python(script, &zip);
        let into = dir.path().join("deep/out");
        let e = extract(&std::fs::read(&zip).unwrap(), &into).unwrap_err();
        assert!(expected(&e), "{e}");
        assert!(!dir.path().join("deep/escaped.xsd").exists());
    }
}

#[test]
fn a_damaged_entry_is_caught_by_its_crc() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("d.zip");
    python(
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("a.xsd", "<a>СОДЕРЖИМОЕ</a>", compress_type=zipfile.ZIP_STORED)
"#,
        &zip,
    );
    let mut bytes = std::fs::read(&zip).unwrap();
    let at = bytes.windows(3).position(|w| w == b"<a>").unwrap();
    bytes[at + 1] = b'b';
    let e = extract(&bytes, &dir.path().join("out")).unwrap_err();
    assert!(e.to_string().contains("CRC"), "{e}");
}
