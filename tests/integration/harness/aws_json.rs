//! AWS JSON-protocol answers (`application/x-amz-json-1.1`) for the stand-ins in front of
//! moto: a result, or an error with its `__type` as the SDKs parse it.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

/// `200` with `body`.
pub fn ok(body: Value) -> Response<Full<Bytes>> {
    respond(StatusCode::OK, &[], body)
}

/// `400` with ECR's error `code` and `message`.
pub fn error(code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"__type": code, "message": message});
    respond(StatusCode::BAD_REQUEST, &[("x-amzn-errortype", code)], body)
}

fn respond(status: StatusCode, headers: &[(&str, &str)], body: Value) -> Response<Full<Bytes>> {
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let mut builder = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .header(http::header::CONTENT_LENGTH, bytes.len())
        .header("x-amzn-requestid", "stand-in");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(bytes))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
