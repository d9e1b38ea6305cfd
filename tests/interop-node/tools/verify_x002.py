#!/usr/bin/env python3
"""Independent check of the X002 signatures in captures/ (not used by CI).

For every signed request: inclusive C14N (libxml2 via lxml) of each element with
@authenticate='true' as a document subset, concatenated, SHA-256 -> must equal DigestValue;
RSA PKCS#1 v1.5 / SHA-256 over C14N(ds:SignedInfo) with the X002 key from the HIA order data
-> must verify. Needs: pip install lxml cryptography.

Usage: python3 tools/verify_x002.py [captures-dir]
"""
import base64
import glob
import hashlib
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

NS = {"h": "urn:org:ebics:H004", "ds": "http://www.w3.org/2000/09/xmldsig#"}


def c14n_subset(element):
    # lxml's c14n of a sub-element adds xmlns="" to its children, so serialise a copy as its own
    # document first: plain serialisation of a sub-element carries every in-scope namespace
    # declaration, which is what inclusive C14N of a document subset renders on the apex.
    copy = etree.fromstring(etree.tostring(element))
    return etree.tostring(copy, method="c14n", exclusive=False, with_comments=False)


def main(directory):
    hia = etree.parse(glob.glob(directory + "/*HIA.orderdata.xml")[0])
    modulus = base64.b64decode(hia.xpath("//h:AuthenticationPubKeyInfo//ds:Modulus/text()", namespaces=NS)[0])
    exponent = base64.b64decode(hia.xpath("//h:AuthenticationPubKeyInfo//ds:Exponent/text()", namespaces=NS)[0])
    key = rsa.RSAPublicNumbers(int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")).public_key()
    failures = 0
    for path in sorted(glob.glob(directory + "/*.request.xml")):
        doc = etree.parse(path)
        name = path.rsplit("/", 1)[-1]
        if not doc.xpath("//ds:SignedInfo", namespaces=NS):
            print(f"{name}: unsigned")
            continue
        parts = b"".join(c14n_subset(e) for e in doc.xpath("//*[@authenticate='true']"))
        digest_ok = base64.b64encode(hashlib.sha256(parts).digest()).decode() == doc.xpath("//ds:DigestValue/text()", namespaces=NS)[0]
        signed_info = c14n_subset(doc.xpath("//ds:SignedInfo", namespaces=NS)[0])
        signature = base64.b64decode(doc.xpath("//ds:SignatureValue/text()", namespaces=NS)[0])
        try:
            key.verify(signature, signed_info, padding.PKCS1v15(), hashes.SHA256())
            signature_ok = True
        except Exception:  # noqa: BLE001 - any failure means "does not verify"
            signature_ok = False
        failures += (not digest_ok) + (not signature_ok)
        print(f"{name}: digest {'OK' if digest_ok else 'MISMATCH'}, signature {'OK' if signature_ok else 'BAD'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "captures"))
