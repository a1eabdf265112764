//! Loads OpenSSL's GOST engine (Debian's `libengine-gost-openssl`) explicitly, once per process.
//!
//! Debian's `gostprov` provider only offers digests; GOST keys and signatures need the engine.
//! We do not rely on `OPENSSL_CONF`: a broken configuration file is silently ignored by OpenSSL,
//! and the first sign would then fail with an obscure "unsupported algorithm". Instead the engine
//! is loaded through the ENGINE API and made the default for every method it implements, and a
//! missing engine is reported once, clearly.

use std::ffi::{c_char, c_int, c_long, c_uint, c_void, CString};
use std::sync::OnceLock;

use super::DsigError;

/// Opaque `ENGINE` handle of libcrypto.
type Engine = c_void;

extern "C" {
    fn ENGINE_by_id(id: *const c_char) -> *mut Engine;
    fn ENGINE_init(e: *mut Engine) -> c_int;
    fn ENGINE_set_default(e: *mut Engine, flags: c_uint) -> c_int;
    fn ENGINE_free(e: *mut Engine) -> c_int;
    fn ENGINE_ctrl_cmd_string(
        e: *mut Engine,
        cmd_name: *const c_char,
        arg: *const c_char,
        cmd_optional: c_int,
    ) -> c_int;
    fn ENGINE_load_builtin_engines();
    fn ERR_clear_error();
    #[allow(dead_code)]
    fn ENGINE_ctrl(e: *mut Engine, cmd: c_int, i: c_long, p: *mut c_void, f: *mut c_void) -> c_int;
}

const ENGINE_METHOD_ALL: c_uint = 0xFFFF;

/// Where Debian installs engines, tried when the engine is not found by id.
const ENGINE_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/engines-3/gost.so",
    "/usr/lib/aarch64-linux-gnu/engines-3/gost.so",
    "/usr/lib/engines-3/gost.so",
    "/usr/lib64/engines-3/gost.so",
];

static ENGINE_STATE: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes sure the GOST engine is loaded and set as default. Cheap after the first call.
pub fn ensure_gost_engine() -> Result<(), DsigError> {
    ENGINE_STATE
        .get_or_init(load)
        .clone()
        .map_err(DsigError::EngineUnavailable)
}

fn load() -> Result<(), String> {
    openssl_sys::init();
    // SAFETY: plain calls into libcrypto's ENGINE API with valid NUL-terminated strings; the
    // engine handle is checked for NULL before use and released on every failure path. On
    // success the structural reference is intentionally kept for the life of the process.
    unsafe {
        ENGINE_load_builtin_engines();
        let id = CString::new("gost").map_err(|e| e.to_string())?;
        let mut e = ENGINE_by_id(id.as_ptr());
        if e.is_null() {
            ERR_clear_error();
            e = load_dynamic()?;
        }
        if ENGINE_init(e) != 1 {
            ENGINE_free(e);
            ERR_clear_error();
            return Err("the GOST engine was found but ENGINE_init failed".into());
        }
        if ENGINE_set_default(e, ENGINE_METHOD_ALL) != 1 {
            ENGINE_free(e);
            ERR_clear_error();
            return Err("the GOST engine could not be set as the default engine".into());
        }
    }
    // Make sure the algorithms we need are really reachable now.
    for (nid, name) in [(982, "md_gost12_256"), (983, "md_gost12_512")] {
        if openssl::hash::MessageDigest::from_nid(openssl::nid::Nid::from_raw(nid)).is_none() {
            return Err(format!(
                "the GOST engine is loaded but digest {name} is unavailable"
            ));
        }
    }
    Ok(())
}

/// # Safety
/// Calls the ENGINE API; returns a non-null engine handle or an error.
unsafe fn load_dynamic() -> Result<*mut Engine, String> {
    let dynamic = CString::new("dynamic").map_err(|e| e.to_string())?;
    let custom = std::env::var("SMEV_GATEWAY_GOST_ENGINE").ok();
    let candidates: Vec<String> = custom
        .into_iter()
        .chain(ENGINE_PATHS.iter().map(|s| s.to_string()))
        .collect();
    for path in &candidates {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let e = ENGINE_by_id(dynamic.as_ptr());
        if e.is_null() {
            break;
        }
        let so = CString::new("SO_PATH").map_err(|e| e.to_string())?;
        let p = CString::new(path.as_str()).map_err(|e| e.to_string())?;
        let idk = CString::new("ID").map_err(|e| e.to_string())?;
        let gost = CString::new("gost").map_err(|e| e.to_string())?;
        let loadk = CString::new("LOAD").map_err(|e| e.to_string())?;
        if ENGINE_ctrl_cmd_string(e, so.as_ptr(), p.as_ptr(), 0) == 1
            && ENGINE_ctrl_cmd_string(e, idk.as_ptr(), gost.as_ptr(), 0) == 1
            && ENGINE_ctrl_cmd_string(e, loadk.as_ptr(), std::ptr::null(), 0) == 1
        {
            return Ok(e);
        }
        ENGINE_free(e);
        ERR_clear_error();
    }
    Err(format!(
        "OpenSSL GOST engine not found (tried engine id \"gost\" and {}). Install it: apt-get install libengine-gost-openssl",
        candidates.join(", ")
    ))
}
