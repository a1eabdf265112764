#!/usr/bin/python3
"""Reference (oracle) Exclusive XML Canonicalization 1.0 for the c14n tests.

Usage:
    /usr/bin/python3 tests/oracle/c14n.py FILE [--id ID] [--with-comments]
                                               [--prefix P ...] [--backend lxml|nodeset]

Writes the exclusive canonical form (http://www.w3.org/2001/10/xml-exc-c14n#,
or ...#WithComments with --with-comments) of FILE to stdout as raw bytes,
with no trailing newline added.

  * without --id: the whole document (top-level comments and PIs included,
    exactly as `xmllint --exc-c14n` does when comments are kept);
  * with --id ID: the subtree of the single element matched by //*[@Id=$ID]
    (the element, its attributes, namespace nodes and all descendants, in the
    context of its document: only visibly utilized namespaces -- plus the
    InclusiveNamespaces prefixes -- are rendered on the apex; xml:* attributes
    of ancestors are NOT inherited, per exc-c14n).
  * --prefix P (repeatable, or several values after one --prefix): the
    InclusiveNamespaces PrefixList; "#default" means the default namespace.

Backends (both are libxml2 2.9.x underneath):
  lxml    (default) lxml.etree.tostring(..., method="c14n", exclusive=True).
          For a subtree lxml builds a temporary document whose root is a
          shallow copy of the element carrying every namespace declaration of
          its ancestors, then canonicalizes that document.
  nodeset libxml2 called through ctypes with an XPath node-set
          (//. | //@* | //namespace::*)[ancestor-or-self::*[@Id='ID']],
          i.e. the XMLDSig "same-document reference + exc-c14n transform"
          model. Used to cross-check the lxml backend.

Exit codes: 0 ok; 1 parse/c14n failure; 2 Id not found; 3 Id matches more
than one element; 4 the document has a DOCTYPE (refused, like the
implementation under test); 64 usage error.
"""

import argparse
import ctypes
import sys

from lxml import etree

EXIT_FAIL = 1
EXIT_ID_NOT_FOUND = 2
EXIT_ID_AMBIGUOUS = 3
EXIT_DOCTYPE = 4


class OracleError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _parser():
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        remove_blank_text=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        strip_cdata=False,  # keep CDATA nodes, as xmllint does
        remove_comments=False,
        remove_pis=False,
        huge_tree=False,
    )


_DEFAULT_INTERNED = False


def _intern_default_marker(parser):
    """Work around an lxml quirk so that "#default" reaches libxml2.

    lxml passes an InclusiveNamespaces prefix to libxml2 only if that string
    already exists in the (thread-shared) libxml2 dictionary of the document
    ("unknown prefixes do not need to get serialised", serializer.pxi,
    _convert_ns_prefixes). Real prefixes always are there, but "#default"
    never is, so lxml silently DROPS "#default". Parsing a throw-away document
    whose namespace URI is "#default" interns the string in the shared
    dictionary. Verified by a self-test so that a future lxml that stops
    sharing the dictionary fails loudly instead of giving wrong answers.
    """
    global _DEFAULT_INTERNED
    if _DEFAULT_INTERNED:
        return
    etree.fromstring(b'<x xmlns="#default"/>', parser)
    probe = etree.fromstring(
        b'<r xmlns="urn:self-test:d" xmlns:p="urn:self-test:p"><p:x/></r>', parser)
    got = etree.tostring(probe[0], method="c14n", exclusive=True,
                         with_comments=False, inclusive_ns_prefixes=["#default"])
    want = b'<p:x xmlns="urn:self-test:d" xmlns:p="urn:self-test:p"></p:x>'
    if got != want:
        raise OracleError(EXIT_FAIL,
                          "lxml #default self-test failed: %r != %r" % (got, want))
    _DEFAULT_INTERNED = True


def _parse(path, parser):
    try:
        tree = etree.parse(path, parser)
    except etree.XMLSyntaxError as e:
        raise OracleError(EXIT_FAIL, "%s: XML syntax error: %s" % (path, e))
    except OSError as e:
        raise OracleError(EXIT_FAIL, "%s: %s" % (path, e))
    di = tree.docinfo
    if di.doctype or di.internalDTD is not None or di.externalDTD is not None:
        raise OracleError(EXIT_DOCTYPE, "%s: document has a DOCTYPE (refused)" % path)
    return tree


def _select(tree, path, id_value):
    found = tree.xpath("//*[@Id=$id]", id=id_value)
    if not found:
        raise OracleError(EXIT_ID_NOT_FOUND,
                          "%s: no element with Id=%r" % (path, id_value))
    if len(found) > 1:
        raise OracleError(EXIT_ID_AMBIGUOUS,
                          "%s: %d elements with Id=%r" % (path, len(found), id_value))
    return found[0]


def canonicalize_lxml(path, id_value=None, with_comments=False, prefixes=()):
    parser = _parser()
    prefixes = list(prefixes or ())
    if "#default" in prefixes:
        _intern_default_marker(parser)
    tree = _parse(path, parser)
    # NB: tostring(ElementTree) canonicalizes the document node (top-level
    # comments/PIs included); tostring(root Element) would drop them whenever
    # the root element has siblings.
    target = tree if id_value is None else _select(tree, path, id_value)
    try:
        return etree.tostring(target, method="c14n", exclusive=True,
                              with_comments=with_comments,
                              inclusive_ns_prefixes=prefixes or None)
    except etree.C14NError as e:
        raise OracleError(EXIT_FAIL, "%s: C14N failed: %s" % (path, e))


# --------------------------------------------------------------------------
# nodeset backend: libxml2 through ctypes, XPath node-set selection.

class _XPathObject(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int),
                ("nodesetval", ctypes.c_void_p),
                ("boolval", ctypes.c_int),
                ("floatval", ctypes.c_double),
                ("stringval", ctypes.c_char_p),
                ("user", ctypes.c_void_p),
                ("index", ctypes.c_int),
                ("user2", ctypes.c_void_p),
                ("index2", ctypes.c_int)]


class _NodeSet(ctypes.Structure):
    _fields_ = [("nodeNr", ctypes.c_int),
                ("nodeMax", ctypes.c_int),
                ("nodeTab", ctypes.c_void_p)]


_LIB = None


def _libxml2():
    global _LIB
    if _LIB is None:
        lib = ctypes.CDLL("libxml2.so.2")
        lib.xmlReadFile.restype = ctypes.c_void_p
        lib.xmlReadFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        lib.xmlFreeDoc.argtypes = [ctypes.c_void_p]
        lib.xmlXPathNewContext.restype = ctypes.c_void_p
        lib.xmlXPathNewContext.argtypes = [ctypes.c_void_p]
        lib.xmlXPathFreeContext.argtypes = [ctypes.c_void_p]
        lib.xmlXPathEvalExpression.restype = ctypes.POINTER(_XPathObject)
        lib.xmlXPathEvalExpression.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        lib.xmlXPathFreeObject.argtypes = [ctypes.POINTER(_XPathObject)]
        lib.xmlC14NDocDumpMemory.restype = ctypes.c_int
        lib.xmlC14NDocDumpMemory.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
            ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p)]
        lib.xmlGetIntSubset.restype = ctypes.c_void_p
        lib.xmlGetIntSubset.argtypes = [ctypes.c_void_p]
        _LIB = lib
    return _LIB


def canonicalize_nodeset(path, id_value=None, with_comments=False, prefixes=()):
    lib = _libxml2()
    XML_PARSE_NONET = 1 << 11
    doc = lib.xmlReadFile(path.encode(), None, XML_PARSE_NONET)
    if not doc:
        raise OracleError(EXIT_FAIL, "%s: libxml2 could not parse the document" % path)
    ctx = None
    objs = []
    try:
        if lib.xmlGetIntSubset(doc):
            raise OracleError(EXIT_DOCTYPE, "%s: document has a DOCTYPE (refused)" % path)
        nodeset = None
        if id_value is not None:
            if "'" in id_value:
                raise OracleError(EXIT_FAIL, "Id values containing ' are not supported")
            ctx = lib.xmlXPathNewContext(doc)
            count_obj = lib.xmlXPathEvalExpression(
                ("//*[@Id='%s']" % id_value).encode(), ctx)
            objs.append(count_obj)
            ns = count_obj.contents.nodesetval
            n = ctypes.cast(ns, ctypes.POINTER(_NodeSet)).contents.nodeNr if ns else 0
            if n == 0:
                raise OracleError(EXIT_ID_NOT_FOUND,
                                  "%s: no element with Id=%r" % (path, id_value))
            if n > 1:
                raise OracleError(EXIT_ID_AMBIGUOUS,
                                  "%s: %d elements with Id=%r" % (path, n, id_value))
            expr = ("(//. | //@* | //namespace::*)[ancestor-or-self::*[@Id='%s']]"
                    % id_value)
            obj = lib.xmlXPathEvalExpression(expr.encode(), ctx)
            objs.append(obj)
            nodeset = obj.contents.nodesetval
        c_prefixes = None
        if prefixes:
            arr = (ctypes.c_char_p * (len(prefixes) + 1))()
            for i, p in enumerate(prefixes):
                arr[i] = p.encode()
            arr[len(prefixes)] = None
            c_prefixes = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
        out = ctypes.c_void_p()
        XML_C14N_EXCLUSIVE_1_0 = 1
        n = lib.xmlC14NDocDumpMemory(doc, nodeset, XML_C14N_EXCLUSIVE_1_0, c_prefixes,
                                     1 if with_comments else 0, ctypes.byref(out))
        if n < 0 or not out.value:
            raise OracleError(EXIT_FAIL, "%s: C14N failed" % path)
        data = ctypes.string_at(out.value, n)
        ctypes.CDLL(None).free(out)  # libxml2's default xmlFree is free()
        return data
    finally:
        for o in objs:
            lib.xmlXPathFreeObject(o)
        if ctx:
            lib.xmlXPathFreeContext(ctx)
        lib.xmlFreeDoc(doc)


BACKENDS = {"lxml": canonicalize_lxml, "nodeset": canonicalize_nodeset}


def canonicalize(path, id_value=None, with_comments=False, prefixes=(), backend="lxml"):
    return BACKENDS[backend](path, id_value, with_comments, prefixes)


def main(argv=None):
    ap = argparse.ArgumentParser(description="exc-c14n oracle (lxml / libxml2)")
    ap.add_argument("file")
    ap.add_argument("--id", dest="id_value", default=None)
    ap.add_argument("--with-comments", action="store_true")
    ap.add_argument("--prefix", action="extend", nargs="+", default=[],
                    metavar="P", help='InclusiveNamespaces prefix ("#default" allowed)')
    ap.add_argument("--backend", choices=sorted(BACKENDS), default="lxml")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 64 if e.code else 0
    try:
        data = canonicalize(args.file, args.id_value, args.with_comments,
                            args.prefix, args.backend)
    except OracleError as e:
        sys.stderr.write("c14n.py: %s\n" % e.message)
        return e.code
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
