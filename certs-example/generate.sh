#!/usr/bin/env bash
#
# Regenerates the smev-gateway TEST-ONLY PKI in the directory this script
# lives in.
#
#   !!! ТОЛЬКО ДЛЯ ТЕСТОВ / TEST ONLY !!!
#   All private keys produced here are published in a public repository.
#   Never use them (or certificates issued by this CA) for anything real.
#
# Requirements: OpenSSL 3.x CLI + gost engine (Debian: libengine-gost-openssl);
# the engine path is configured in openssl-gost.cnf (dynamic_path).
#
# Usage: ./generate.sh      (idempotent: overwrites all generated files)
#        PKI_START_YEAR=2024 ./generate.sh   (override notBefore year)
#        ./generate.sh --only smev provider  (issue only these end-entity
#            certificates with the EXISTING test CA; everything else is kept.
#            Names: sp ov512 smev provider)
#
set -euo pipefail

DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$DIR"

# --only NAME... : reissue only some end-entity certificates with the existing CA.
ONLY=""
if [ "${1:-}" = "--only" ]; then
    shift
    [ "$#" -gt 0 ] || { echo "generate.sh: --only needs names (sp ov512 smev provider)" >&2; exit 1; }
    for n in "$@"; do
        case "$n" in
            sp|ov512|smev|provider) ONLY="$ONLY $n" ;;
            *) echo "generate.sh: --only: '$n' cannot be reissued alone (allowed: sp ov512 smev provider)" >&2; exit 1 ;;
        esac
    done
    ONLY="$ONLY "
elif [ "$#" -gt 0 ]; then
    echo "usage: $0 [--only sp|ov512|smev|provider ...]" >&2
    exit 1
fi
# want <name>: whether <name> is (re)generated in this run.
want() { [ -z "$ONLY" ] || [[ "$ONLY" == *" $1 "* ]]; }
full() { [ -z "$ONLY" ]; }

CNF="$DIR/openssl-gost.cnf"
P12_PASS="test-only-password"

die() { echo "generate.sh: ERROR: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

# ---------------------------------------------------------------------------
# 0. Environment checks. A broken/missing OPENSSL_CONF can be silently ignored
#    by OpenSSL, so check that GOST really works before going on.
# ---------------------------------------------------------------------------
command -v openssl >/dev/null || die "openssl CLI not found"
[ -f "$CNF" ] || die "$CNF not found"
ENGINE_SO="$(sed -n 's/^[[:space:]]*dynamic_path[[:space:]]*=[[:space:]]*//p' "$CNF" | head -n1)"
[ -f "$ENGINE_SO" ] || die "gost engine '$ENGINE_SO' (dynamic_path in $CNF) not found; install libengine-gost-openssl or fix the path"

export OPENSSL_CONF="$CNF"
unset OPENSSL_ENGINES OPENSSL_MODULES || true

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

if ! OPENSSL_VERSION="$(openssl version 2>"$TMP/version.err")"; then
    cat "$TMP/version.err" >&2
    die "openssl fails to start with OPENSSL_CONF=$CNF (broken config? see errors above)"
fi
case "$OPENSSL_VERSION" in
    "OpenSSL 3."*) ;;
    *) die "OpenSSL 3.x required, got: $OPENSSL_VERSION" ;;
esac

if ! openssl genpkey -algorithm gost2012_256 -pkeyopt paramset:A \
        -out "$TMP/probe.key" 2>"$TMP/probe.err"; then
    cat "$TMP/probe.err" >&2
    die "OPENSSL_CONF=$CNF does not give a working gost engine (cannot generate a gost2012_256 key)"
fi
if ! openssl asn1parse -genstr "OID:INNLE" >/dev/null 2>&1; then
    die "OID INNLE (1.2.643.100.4) is not registered by $CNF"
fi

# ---------------------------------------------------------------------------
# 1. Clean previous output (only files this script owns).
# ---------------------------------------------------------------------------
GENERATED=(
    ca.key.pem ca.cert.pem
    ov.key.pem ov.cert.pem ov.p12 ov-gost.p12
    sp.key.pem sp.cert.pem
    ov512.key.pem ov512.cert.pem
    expired.key.pem expired.cert.pem
    untrusted.key.pem untrusted.cert.pem
    rsa.key.pem rsa.cert.pem
    smev.key.pem smev.cert.pem
    provider.key.pem provider.cert.pem
)
if full; then
    rm -f "${GENERATED[@]}"
else
    [ -f ca.key.pem ] && [ -f ca.cert.pem ] || die "--only needs the existing test CA (ca.key.pem, ca.cert.pem); run without --only first"
    GENERATED=()
    for n in $ONLY; do GENERATED+=("$n.key.pem" "$n.cert.pem"); done
    rm -f "${GENERATED[@]}"
fi

# ---------------------------------------------------------------------------
# Subjects (UTF-8; passed with -utf8, string_mask = utf8only in the config).
# No commas inside values, so naive "a=b, c=d" DN splitting keeps working.
# Identifiers are fake but have valid check digits:
#   ОГРН   1027700000008  (13 digits, check = (first 12 mod 11) mod 10)
#   ИНН ЮЛ 7700000009     (10 digits, weights 2,4,10,3,5,9,4,6,8, mod 11 mod 10)
#   СНИЛС  11223344595    (11 digits, weights 9..1 over 112233445 -> 95)
# OGRN/SNILS are NumericString (OpenSSL built-in string table); INNLE is made
# NumericString by the stbl_section of openssl-gost.cnf.
# ---------------------------------------------------------------------------
OGRN="1027700000008"
INNLE="7700000009"
SNILS="11223344595"
ORG="/C=RU/L=Москва/O=Тестовое ведомство/OGRN=${OGRN}/INNLE=${INNLE}"

SUBJ_CA="/C=RU/L=Москва/O=Тестовый УЦ smev-gateway/CN=Тестовый УЦ smev-gateway (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_OV="${ORG}/OU=SYSTEM1/CN=Тестовая ИС ведомства (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_OV512="${ORG}/OU=SYSTEM1/CN=Тестовая ИС ведомства ГОСТ 2012-512 (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_SP="${ORG}/title=Специалист/SN=Иванов/GN=Иван Иванович/SNILS=${SNILS}/CN=Иванов Иван Иванович (ТЕСТ)"
SUBJ_EXPIRED="${ORG}/OU=SYSTEM1/CN=Тестовая ИС ведомства - истекший (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_UNTRUSTED="${ORG}/OU=SYSTEM1/CN=Недоверенная ИС - самоподписанный (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_RSA="${ORG}/OU=SYSTEM1/CN=RSA-ключ - не ГОСТ (ТОЛЬКО ДЛЯ ТЕСТОВ)"
# mock-smev: SMEV's own transport key (ЭП-СМЭВ) and a simulated provider IS.
# OU is the participant mnemonic mock-smev derives from a certificate.
SUBJ_SMEV="/C=RU/L=Москва/O=Оператор СМЭВ (ТЕСТ)/OU=TSMEV3/CN=ТСМЭВ 3 (ТОЛЬКО ДЛЯ ТЕСТОВ)"
SUBJ_PROVIDER="/C=RU/L=Москва/O=Тестовая ФНС (ТЕСТ)/OU=FNS01/CN=Тестовая ИС поставщика ФНС (ТОЛЬКО ДЛЯ ТЕСТОВ)"

# Validity. notBefore is back-dated to 1 January of the previous year so the
# fixtures are already valid on machines whose clock lags behind the one that
# generated them. Override with PKI_START_YEAR=YYYY.
START_YEAR="${PKI_START_YEAR:-$(( $(date -u +%Y) - 1 ))}"
[[ "$START_YEAR" =~ ^[0-9]{4}$ ]] || die "bad PKI_START_YEAR '$START_YEAR'"
NOT_BEFORE="${START_YEAR}0101000000Z"
CA_NOT_AFTER="$(( START_YEAR + 20 ))0101000000Z"   # root CA: 20 years
EE_NOT_AFTER="$(( START_YEAR + 10 ))0101000000Z"   # end entities: 10 years

# quiet <cmd...> : run, show stderr only on failure.
quiet() {
    "$@" 2>"$TMP/stderr" || { cat "$TMP/stderr" >&2; die "command failed: $*"; }
}

gost256_key() { quiet openssl genpkey -algorithm gost2012_256 -pkeyopt paramset:A -out "$1"; }
gost512_key() { quiet openssl genpkey -algorithm gost2012_512 -pkeyopt paramset:A -out "$1"; }

# csr <name> <subject> <digest> : PKCS#10 request signed with <name>.key.pem.
# The digest must match the key: md_gost12_256 / md_gost12_512 / sha256.
csr() {
    quiet openssl req -new -utf8 -key "$1.key.pem" -subj "$2" "-$3" -out "$TMP/$1.csr.pem"
}

# Throw-away `openssl ca` database. `openssl ca` is used instead of
# `openssl x509 -req` / `req -x509` because OpenSSL 3.0 cannot set an explicit
# notBefore/notAfter there (-not_before/-not_after only exist since 3.4).
mkdir -p "$TMP/ca/newcerts"
: > "$TMP/ca/index.txt"
cat > "$TMP/ca/ca.cnf" <<CACNF
[ ca ]
default_ca = test_ca

[ test_ca ]
dir              = $TMP/ca
database         = \$dir/index.txt
new_certs_dir    = \$dir/newcerts
serial           = \$dir/serial
certificate      = $DIR/ca.cert.pem
private_key      = $DIR/ca.key.pem
default_md       = md_gost12_256
policy           = policy_any
preserve         = yes
unique_subject   = no
copy_extensions  = none
email_in_dn      = no
string_mask      = utf8only
utf8             = yes

[ policy_any ]
# empty on purpose: accept any subject and keep it as is (-preserveDN)
CACNF

# ca_sign <name> <extensions section> <notBefore> <notAfter> [extra ca args...]
# Signs $TMP/<name>.csr.pem into <name>.cert.pem with a random 128-bit serial.
# Default: signed by the test CA key with md_gost12_256 (the CA key is 256-bit);
# pass "-selfsign -keyfile <key>" for self-signed certificates.
ca_sign() {
    local name="$1" ext="$2" nb="$3" na="$4"; shift 4
    openssl rand -hex 16 > "$TMP/ca/serial"
    quiet openssl ca -batch -notext -config "$TMP/ca/ca.cnf" -utf8 -preserveDN \
        -md md_gost12_256 -startdate "$nb" -enddate "$na" \
        -extfile "$CNF" -extensions "$ext" \
        -in "$TMP/$name.csr.pem" -out "$name.cert.pem" "$@"
}

# ---------------------------------------------------------------------------
# 2. Root CA (GOST R 34.10-2012 256, self-signed, 20 years).
# ---------------------------------------------------------------------------
if full; then
    log "ca (root CA, gost2012_256, $NOT_BEFORE .. $CA_NOT_AFTER)"
    gost256_key ca.key.pem
    csr ca "$SUBJ_CA" md_gost12_256
    ca_sign ca v3_ca "$NOT_BEFORE" "$CA_NOT_AFTER" -selfsign -keyfile ca.key.pem
fi

# ---------------------------------------------------------------------------
# 3. ЭП-ОВ (information system of an agency), GOST 2012-256, 10 years.
# ---------------------------------------------------------------------------
if full; then
    log "ov (ЭП-ОВ, gost2012_256, $NOT_BEFORE .. $EE_NOT_AFTER)"
    gost256_key ov.key.pem
    csr ov "$SUBJ_OV" md_gost12_256
    ca_sign ov v3_ee "$NOT_BEFORE" "$EE_NOT_AFTER"
fi

# ---------------------------------------------------------------------------
# 4. ЭП-СП (official of the agency), GOST 2012-256, 10 years.
# ---------------------------------------------------------------------------
if want sp; then
    log "sp (ЭП-СП, gost2012_256)"
    gost256_key sp.key.pem
    csr sp "$SUBJ_SP" md_gost12_256
    ca_sign sp v3_ee "$NOT_BEFORE" "$EE_NOT_AFTER"
fi

# ---------------------------------------------------------------------------
# 5. ЭП-ОВ with a GOST 2012-512 key. The CSR must be signed with md_gost12_512
#    (md_gost12_256 + 512-bit key -> "invalid digest type"); the certificate
#    itself is signed by the 256-bit CA key with md_gost12_256.
# ---------------------------------------------------------------------------
if want ov512; then
    log "ov512 (ЭП-ОВ, gost2012_512)"
    gost512_key ov512.key.pem
    csr ov512 "$SUBJ_OV512" md_gost12_512
    ca_sign ov512 v3_ee "$NOT_BEFORE" "$EE_NOT_AFTER"
fi

# ---------------------------------------------------------------------------
# 5a. mock-smev: ЭП-СМЭВ (SMEV's transport signature) and a simulated
#     provider information system, both GOST 2012-256, issued by the test CA.
# ---------------------------------------------------------------------------
if want smev; then
    log "smev (ЭП-СМЭВ of mock-smev, gost2012_256)"
    gost256_key smev.key.pem
    csr smev "$SUBJ_SMEV" md_gost12_256
    ca_sign smev v3_ee "$NOT_BEFORE" "$EE_NOT_AFTER"
fi
if want provider; then
    log "provider (ЭП-ОВ of a simulated provider IS, gost2012_256)"
    gost256_key provider.key.pem
    csr provider "$SUBJ_PROVIDER" md_gost12_256
    ca_sign provider v3_ee "$NOT_BEFORE" "$EE_NOT_AFTER"
fi

# ---------------------------------------------------------------------------
# 6. PKCS#12 containers for ov (key + ov cert + CA cert). The friendlyName is
#    ASCII on purpose: OpenSSL 3.0 stores -name byte-by-byte as BMPString, so
#    a UTF-8 name would end up as mojibake.
#    ov.p12      : OpenSSL 3 default PBES2(PBKDF2-HMAC-SHA256, AES-256-CBC),
#                  MAC SHA-256 — the container crypto needs no engine (the GOST
#                  key inside still needs the gost engine to be decoded).
#    ov-gost.p12 : PBES2(PBKDF2-HMAC-GOST3411-2012-512, GOST 28147-89),
#                  MAC GOST R 34.11-2012 256 — needs the gost engine throughout.
# ---------------------------------------------------------------------------
if full; then
    log "ov.p12 / ov-gost.p12"
    quiet openssl pkcs12 -export -inkey ov.key.pem -in ov.cert.pem -certfile ca.cert.pem \
        -name "smev-gateway ov (TEST ONLY)" -macalg sha256 \
        -passout "pass:$P12_PASS" -out ov.p12
    quiet openssl pkcs12 -export -inkey ov.key.pem -in ov.cert.pem -certfile ca.cert.pem \
        -name "smev-gateway ov (TEST ONLY)" \
        -keypbe gost89 -certpbe gost89 -macalg md_gost12_256 \
        -passout "pass:$P12_PASS" -out ov-gost.p12
fi

# ---------------------------------------------------------------------------
# 7. Negative fixtures.
# ---------------------------------------------------------------------------
if full; then
    # 7a. expired: issued by the test CA, valid 2020-01-01 .. 2021-01-01.
    log "expired (gost2012_256, 20200101000000Z .. 20210101000000Z)"
    gost256_key expired.key.pem
    csr expired "$SUBJ_EXPIRED" md_gost12_256
    ca_sign expired v3_ee 20200101000000Z 20210101000000Z

    # 7b. untrusted: self-signed GOST 2012-256, not issued by the test CA.
    log "untrusted (self-signed gost2012_256)"
    gost256_key untrusted.key.pem
    csr untrusted "$SUBJ_UNTRUSTED" md_gost12_256
    ca_sign untrusted v3_selfsigned "$NOT_BEFORE" "$EE_NOT_AFTER" \
        -selfsign -keyfile untrusted.key.pem

    # 7c. rsa: RSA-2048, self-signed, SHA-256 (non-GOST key).
    log "rsa (self-signed RSA-2048)"
    quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key.pem
    csr rsa "$SUBJ_RSA" sha256
    ca_sign rsa v3_selfsigned "$NOT_BEFORE" "$EE_NOT_AFTER" \
        -selfsign -keyfile rsa.key.pem -md sha256
fi

# These keys are public test fixtures: make them readable like the rest of the
# checkout (openssl creates private key files with mode 0600), so tests running
# under another uid do not fail with "permission denied".
chmod 0644 "${GENERATED[@]}"

# ---------------------------------------------------------------------------
# 8. Self-check (of what this run produced).
# ---------------------------------------------------------------------------
log "self-check"

CHAINED=()
for n in ov sp ov512 smev provider; do
    if [ "$n" = ov ]; then full || continue; else want "$n" || continue; fi
    CHAINED+=("$n.cert.pem")
done
openssl verify -x509_strict -CAfile ca.cert.pem "${CHAINED[@]}" >/dev/null \
    || die "chain verification failed"

expect_verify_error() {  # <cert> <substring of the expected error>
    local out
    if out="$(openssl verify -CAfile ca.cert.pem "$1" 2>&1)"; then
        die "$1 unexpectedly verified"
    fi
    grep -q -- "$2" <<<"$out" || { echo "$out" >&2; die "$1: expected '$2'"; }
}
if full; then
    expect_verify_error expired.cert.pem "certificate has expired"
    expect_verify_error untrusted.cert.pem "self-signed certificate"
    expect_verify_error rsa.cert.pem "self-signed certificate"

    # the self-signed fixtures are internally consistent (verify against themselves)
    openssl verify -CAfile untrusted.cert.pem untrusted.cert.pem >/dev/null 2>&1 \
        || die "untrusted.cert.pem does not verify against itself"
    openssl verify -CAfile rsa.cert.pem rsa.cert.pem >/dev/null 2>&1 \
        || die "rsa.cert.pem does not verify against itself"
fi

# key <-> certificate match
for n in ca ov sp ov512 expired untrusted rsa smev provider; do
    case "$n" in
        ca|ov|expired|untrusted|rsa) full || continue ;;
        *) want "$n" || continue ;;
    esac
    [ "$(openssl pkey -in "$n.key.pem" -pubout)" = "$(openssl x509 -in "$n.cert.pem" -noout -pubkey)" ] \
        || die "$n.key.pem does not match $n.cert.pem"
done

# sign / verify round trips
printf '<ns:Test xmlns:ns="urn:test">ТОЛЬКО ДЛЯ ТЕСТОВ</ns:Test>' > "$TMP/data"
roundtrip() {  # <name> <digest>
    openssl x509 -in "$1.cert.pem" -noout -pubkey > "$TMP/$1.pub.pem"
    quiet openssl dgst "-$2" -sign "$1.key.pem" -out "$TMP/$1.sig" "$TMP/data"
    openssl dgst "-$2" -verify "$TMP/$1.pub.pem" -signature "$TMP/$1.sig" "$TMP/data" >/dev/null \
        || die "sign/verify round trip failed for $1"
}
if full; then roundtrip ov md_gost12_256; fi
if want sp; then roundtrip sp md_gost12_256; fi
if want ov512; then roundtrip ov512 md_gost12_512; fi
if want smev; then roundtrip smev md_gost12_256; fi
if want provider; then roundtrip provider md_gost12_256; fi

# PKCS#12 read-back
if full; then
    for p in ov.p12 ov-gost.p12; do
        quiet openssl pkcs12 -in "$p" -passin "pass:$P12_PASS" -nodes -out "$TMP/p12.pem"
        [ "$(openssl pkey -in "$TMP/p12.pem" -pubout)" = "$(openssl pkey -in ov.key.pem -pubout)" ] \
            || die "$p: key differs from ov.key.pem"
    done
fi

log "done. Certificates in $DIR:"
for n in ca ov sp ov512 expired untrusted rsa smev provider; do
    [ -f "$n.cert.pem" ] || continue
    printf '  %-20s %s\n' "$n.cert.pem" \
        "$(openssl x509 -in "$n.cert.pem" -noout -subject -nameopt utf8,sep_comma_plus_space,-esc_msb | sed 's/^subject=//')" >&2
done
