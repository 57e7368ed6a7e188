//! `lambda-compatible`, applied by `push` before the fan-out. AWS Lambda runs a single image
//! manifest for linux/amd64 or linux/arm64, and refuses an image index (manifest list): also
//! the index BuildKit wraps around a one-platform image to carry provenance and SBOM
//! attestations ("The image manifest, config or layer media type for the source image … is
//! not supported"; aws/aws-lambda-roadmap#82). So an index with exactly one real platform is
//! pushed as that platform's manifest alone; any other index is refused (exit 2).

use tracing::info;

use crate::config::Config;
use crate::error::InputError;
use crate::image::LocalImage;

/// Architectures Lambda runs (`x86_64` and `arm64` in Lambda's terms).
const LAMBDA_PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm64/v8"];

const WHY: &str = "AWS Lambda runs only a single image manifest and rejects image indexes \
                   (\"The image manifest, config or layer media type ... is not supported\")";

/// The image to push: unchanged, or the one platform manifest of an index; refused with an
/// `InputError` when Lambda could not run what would be pushed.
pub fn prepare_for_lambda(image: LocalImage, config: &Config) -> Result<LocalImage, InputError> {
    if config.handoff.lambda_compatible {
        lambda_image(image)
    } else {
        Ok(image)
    }
}

/// What Lambda would run of `image`: the image itself, or its one platform manifest.
fn lambda_image(image: LocalImage) -> Result<LocalImage, InputError> {
    let Some(entries) = image.index_entries().map_err(refuse_unreadable)? else {
        check_platform(&image, image.top.digest.as_str())?;
        return Ok(image);
    };
    if !entries.nested_indexes.is_empty() {
        return Err(refusal(format!(
            "the image {} is an index of indexes; {WHY}",
            image.top.digest
        )));
    }
    match entries.platform_images.as_slice() {
        [only] => {
            let single = image.child_as_image(only).map_err(refuse_unreadable)?;
            let described = format!(
                "{} (the one platform manifest of the index {})",
                single.top.digest, image.top.digest
            );
            check_platform(&single, &described)?;
            info!(digest = %single.top.digest, platforms = ?single.platforms,
                  attestations_left_out = entries.attestations.len(), index = %image.top.digest,
                  "lambda-compatible: pushing the one platform manifest without its index");
            Ok(single)
        }
        [] if entries.attestations.is_empty() => Err(refusal(format!(
            "the index {} is empty: it holds no image manifest to push",
            image.top.digest
        ))),
        [] => Err(refusal(format!(
            "the index {} holds no runnable image, only {} attestation manifest(s); {WHY}",
            image.top.digest,
            entries.attestations.len()
        ))),
        several => Err(refusal(format!(
            "the image {} is an index of {} platforms ({}){}; {WHY}. Build for one platform \
             (e.g. --platform linux/arm64), or set lambda-compatible: false",
            image.top.digest,
            several.len(),
            image.platforms.join(", "),
            attestation_note(entries.attestations.len())
        ))),
    }
}

/// A known platform must be one Lambda runs; an unknown one is left to Lambda. `described`
/// names the image in the refusal.
fn check_platform(image: &LocalImage, described: &str) -> Result<(), InputError> {
    match image.platforms.as_slice() {
        [platform] if !LAMBDA_PLATFORMS.contains(&platform.as_str()) => Err(refusal(format!(
            "the image {described} is for {platform}; AWS Lambda runs only linux/amd64 (x86_64) \
             and linux/arm64"
        ))),
        _ => Ok(()),
    }
}

fn attestation_note(attestations: usize) -> String {
    if attestations == 0 {
        String::new()
    } else {
        format!(" plus {attestations} attestation manifest(s)")
    }
}

fn refusal(message: String) -> InputError {
    InputError::new("lambda-compatible", message)
}

fn refuse_unreadable(error: anyhow::Error) -> InputError {
    refusal(format!("cannot read the image index: {error:#}"))
}

#[cfg(test)]
mod tests;
