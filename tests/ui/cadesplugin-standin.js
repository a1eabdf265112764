// A stand-in for the CryptoPro browser plug-in, for the browser tests: the cadesplugin API in
// its async mode — window.cadesplugin is a promise that also has CreateObjectAsync; properties
// are promises, methods return promises — with the objects the ЭП-СП page uses (CAdESCOM.Store,
// its Certificates, CAdESCOM.HashedData, CAdESCOM.RawSignature). Keys stay in the test process:
// it lists the certificates (__standInCertificates) and signs the hash with openssl, answering
// in CryptoPro's reversed byte order as hex (__standInSignHash), as the real SignHash does. The
// page cannot tell it from the real plug-in, so the real one is a drop-in.
(() => {
  const value = (v) => Promise.resolve(v);
  class Certificate {
    constructor(index, c) { this.index = index; this.c = c; }
    get SubjectName() { return value(this.c.subject); }
    get ValidToDate() { return value(this.c.validTo); }
    get Thumbprint() { return value(this.c.thumbprint); }
    HasPrivateKey() { return value(true); }
    Export(encoding) { return encoding === 0 ? value(this.c.base64) : Promise.reject(new Error("unsupported encoding")); }
    PublicKey() {
      const oid = this.c.oid;
      return value({ get Algorithm() { return value({ get Value() { return value(oid); } }); } });
    }
  }
  class Store {
    Open() { return value(undefined); }
    Close() { return value(undefined); }
    get Certificates() {
      return window.__standInCertificates().then((list) => ({
        get Count() { return value(list.length); },
        Item(i) { return i >= 1 && i <= list.length ? value(new Certificate(i - 1, list[i - 1])) : Promise.reject(new Error("index out of range")); },
      }));
    }
  }
  class HashedData {
    propset_Algorithm(a) { this.algorithm = a; return value(undefined); }
    SetHashValue(hex) { this.hash = hex; return value(undefined); }
  }
  class RawSignature {
    SignHash(hashed, cert) {
      if (!(hashed instanceof HashedData) || !hashed.hash) return Promise.reject(new Error("no hash value set"));
      return window.__standInSignHash(cert.index, hashed.algorithm, hashed.hash);
    }
  }
  const objects = { "CAdESCOM.Store": Store, "CAdESCOM.HashedData": HashedData, "CAdESCOM.RawSignature": RawSignature };
  const plugin = Promise.resolve();
  plugin.CreateObjectAsync = (name) => objects[name] ? value(new objects[name]()) : Promise.reject(new Error(`unknown object ${name}`));
  window.cadesplugin = plugin;
})();
