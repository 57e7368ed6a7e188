//! The pure parts of fault injection: which armed fault a request meets, the one-byte
//! manifest change, and the region of a SigV4-signed call.

use http::Method;

use crate::harness::fault::{Fault, FaultBook, RequestAction, RequestFacts, RequestMatch};
use crate::harness::moto_counter::region_of;
use crate::harness::proxy_control::PathKind;
use crate::harness::proxy_faults::change_one_byte;
use crate::harness::skopeo::sha256_digest;

fn facts<'a>(
    method: &'a http::Method,
    kind: &'a PathKind,
    authenticated: bool,
) -> RequestFacts<'a> {
    RequestFacts {
        method,
        kind,
        authenticated,
        has_body: true,
    }
}

#[test]
fn fault_book_applies_the_first_armed_fault_that_matches_and_spends_budgets() {
    let mut book = FaultBook::default();
    book.arm(
        Fault::Status {
            status: 503,
            count: 1,
            kind: Some("manifest"),
        },
        0,
    );
    book.arm(Fault::TokenExpired { count: 1 }, 1);
    book.arm(Fault::CutUploadAfter { bytes: 7, times: 1 }, 0);
    let (get, put) = (http::Method::GET, http::Method::PUT);
    let manifest = PathKind::of("/v2/a/manifests/v1");
    let session = PathKind::of("/v2/a/blobs/uploads/u1");

    let on = |book: &mut FaultBook, m, k, auth| book.on_request(&facts(m, k, auth)).action;
    assert_eq!(
        on(&mut book, &get, &session, false),
        None,
        "no auth, not an upload PUT"
    );
    assert_eq!(
        on(&mut book, &get, &manifest, true),
        Some(RequestAction::Status(503))
    );
    assert_eq!(
        on(&mut book, &get, &manifest, true),
        None,
        "token fault skips one"
    );
    assert_eq!(
        on(&mut book, &put, &session, true),
        Some(RequestAction::TokenExpired)
    );
    assert_eq!(
        on(&mut book, &put, &session, true),
        Some(RequestAction::CutUpload(7))
    );
    assert_eq!(on(&mut book, &put, &session, true), None);
    assert!(book.armed().is_empty());
    assert_eq!(book.fired("status-503"), 1);
    assert_eq!(book.fired("token-expired"), 1);
    assert_eq!(book.fired("cut-upload"), 1);
    assert!(!book.take_manifest_corruption(&PathKind::of("/v2/app/manifests/v1")));
}

#[test]
fn a_fault_for_matching_requests_skips_the_others() {
    let mut book = FaultBook::default();
    book.arm(
        Fault::only(
            RequestMatch::manifest("PUT", "prod"),
            Fault::Status {
                status: 503,
                count: 2,
                kind: None,
            },
        ),
        0,
    );
    book.arm(
        Fault::only(
            RequestMatch::manifest("GET", "sha256:abc"),
            Fault::CorruptManifestGet { count: 1 },
        ),
        0,
    );
    let on = |book: &mut FaultBook, m, k, auth| book.on_request(&facts(m, k, auth)).action;
    let put = Method::PUT;
    let prod = PathKind::of("/v2/web/manifests/prod");
    let other = PathKind::of("/v2/web/manifests/v1");
    assert_eq!(on(&mut book, &put, &other, true), None);
    assert_eq!(on(&mut book, &Method::GET, &prod, false), None);
    assert_eq!(
        on(&mut book, &put, &prod, true),
        Some(RequestAction::Status(503))
    );
    assert_eq!(
        on(&mut book, &put, &prod, true),
        Some(RequestAction::Status(503))
    );
    assert_eq!(on(&mut book, &put, &prod, true), None);
    assert!(!book.take_manifest_corruption(&prod));
    assert!(book.take_manifest_corruption(&PathKind::of("/v2/web/manifests/sha256:abc")));
    assert!(book.armed().is_empty());
    assert_eq!(book.fired("status-503"), 2);
}

#[test]
fn one_changed_byte_keeps_length_and_json_and_changes_the_digest() {
    let original = br#"{"config":{"digest":"sha256:0abc"},"layers":[{"digest":"sha256:ffee"}]}"#;
    let mut changed = original.to_vec();
    change_one_byte(&mut changed);
    assert_eq!(changed.len(), original.len());
    assert_ne!(sha256_digest(&changed), sha256_digest(original));
    let text = String::from_utf8(changed).unwrap();
    assert!(text.contains("sha256:0fee"), "{text}");
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    let mut plain = b"abc".to_vec();
    change_one_byte(&mut plain);
    assert_eq!(plain, b"abb");
}

#[test]
fn region_comes_from_the_sigv4_credential_scope() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(region_of(&headers), None);
    headers.insert(
        http::header::AUTHORIZATION,
        "AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/ecr/aws4_request, \
         SignedHeaders=host, Signature=00"
            .parse()
            .unwrap(),
    );
    assert_eq!(region_of(&headers).as_deref(), Some("eu-west-1"));
}
