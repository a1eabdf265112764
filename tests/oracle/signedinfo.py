#!/usr/bin/python3
"""Independent oracle for signature tests: prints, as raw bytes, one part of the N-th (0-based)
ds:Signature of FILE, computed with lxml/libxml2 rather than with smev-gateway's own code.

Usage: signedinfo.py FILE N (signed-info | signature-value | certificate)
  signed-info      exclusive c14n of ds:SignedInfo in its document context
  signature-value  base64-decoded ds:SignatureValue
  certificate      the ds:X509Certificate as PEM
"""
import base64
import sys

from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"


def main():
    path, n, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    tree = etree.parse(path, parser)
    sig = tree.findall(".//{%s}Signature" % DS)[n]
    out = sys.stdout.buffer
    if what == "signed-info":
        si = sig.find("{%s}SignedInfo" % DS)
        out.write(etree.tostring(si, method="c14n", exclusive=True, with_comments=False))
    elif what == "signature-value":
        text = "".join(sig.find("{%s}SignatureValue" % DS).text.split())
        out.write(base64.b64decode(text))
    elif what == "certificate":
        text = "".join(sig.find(".//{%s}X509Certificate" % DS).text.split())
        body = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
        out.write(("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % body).encode())
    else:
        sys.exit("unknown part " + what)


if __name__ == "__main__":
    main()
