//! A read-only OpenSSL `BIO` over a file on disk, so that CMS signing and verification of an
//! attachment stream the file through OpenSSL's digest in small pieces instead of holding a file
//! of up to 1 GB in memory (the Rust `openssl` crate only takes detached content as a slice).
//! The BIO is freed when the value is dropped; it never outlives the path it was opened on.

use std::ffi::CString;
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use openssl::error::ErrorStack;

use super::DsigError;

extern "C" {
    // libcrypto's `BIO *BIO_new_file(const char *filename, const char *mode)`; openssl-sys
    // does not declare it.
    fn BIO_new_file(filename: *const c_char, mode: *const c_char) -> *mut openssl_sys::BIO;
}

/// An open file BIO, owned.
pub(crate) struct FileBio(*mut openssl_sys::BIO);

impl FileBio {
    /// Opens `path` for reading in binary mode.
    pub(crate) fn open(path: &Path) -> Result<Self, DsigError> {
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| DsigError::Io(format!("{}: a NUL byte in the path", path.display())))?;
        // SAFETY: both arguments are valid NUL-terminated strings for the length of the call;
        // the result is checked for NULL before use.
        let bio = unsafe { BIO_new_file(c_path.as_ptr(), c"rb".as_ptr()) };
        if bio.is_null() {
            return Err(DsigError::Io(format!(
                "{}: cannot open for signing or verification: {}",
                path.display(),
                ErrorStack::get()
            )));
        }
        Ok(FileBio(bio))
    }

    /// How far the file has been read (`BIO_tell`), None when OpenSSL cannot tell.
    pub(crate) fn position(&self) -> Option<u64> {
        // BIO_C_FILE_TELL: the `BIO_tell` macro of <openssl/bio.h>.
        const BIO_C_FILE_TELL: std::os::raw::c_int = 133;
        // SAFETY: a valid file BIO; the control call only reads its offset.
        let at = unsafe { openssl_sys::BIO_ctrl(self.0, BIO_C_FILE_TELL, 0, std::ptr::null_mut()) };
        u64::try_from(at).ok()
    }

    /// The BIO, for one OpenSSL call that reads it; it stays owned by `self`.
    pub(crate) fn as_ptr(&self) -> *mut openssl_sys::BIO {
        self.0
    }
}

impl Drop for FileBio {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BIO_new_file, is not NULL and is freed exactly once;
        // OpenSSL's CMS functions that read it do not take ownership of a caller's BIO.
        unsafe { openssl_sys::BIO_free_all(self.0) };
    }
}
