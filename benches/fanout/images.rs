//! The bench images: the small example (`examples/hello`), a 4-layer image of 130 MB, a
//! 1 GiB single-layer image, and (only when named) 16 layers of 8 MB for concurrency sweeps. The big ones are OCI layouts of incompressible pseudo-random data
//! (gzip'd, so compressed ≈ raw), generated once into `target/bench-images/<STAMP>/` and
//! reused by later runs; a `complete` marker, written last, says a layout is whole.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ecr_fanout::image::fixtures::LayoutBuilder;
use ecr_fanout::image::media_types::OCI_LAYER_GZIP;
use ecr_fanout::image::{
    Descriptor, Digest, DigestWriter, ImageSource, LocalImage, Platform, open_image,
};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Bump when the generated content changes, so old layouts are not reused.
const STAMP: &str = "v1";
const MB: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchImage {
    Small,
    Mb130,
    Gib1,
    /// 16 layers of 8 MB: more large layers than the default concurrency, for sweeps.
    Layers16,
}

impl BenchImage {
    /// The images measured by default (small, 130 MB and 1 GiB).
    pub const ALL: [BenchImage; 3] = [BenchImage::Small, BenchImage::Mb130, BenchImage::Gib1];
    /// Every image `--images` accepts.
    pub const KNOWN: [BenchImage; 4] = [
        BenchImage::Small,
        BenchImage::Mb130,
        BenchImage::Gib1,
        BenchImage::Layers16,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BenchImage::Small => "small",
            BenchImage::Mb130 => "130mb",
            BenchImage::Gib1 => "1gib",
            BenchImage::Layers16 => "16x8mb",
        }
    }

    /// Content bytes of each layer; `None` for the checked-in example.
    fn layer_sizes(self) -> Option<Vec<u64>> {
        match self {
            BenchImage::Small => None,
            // A large base, two middle layers and a small application layer: 130 MB.
            BenchImage::Mb130 => Some(vec![60 * MB, 40 * MB, 20 * MB, 10 * MB]),
            BenchImage::Gib1 => Some(vec![1 << 30]),
            BenchImage::Layers16 => Some(vec![8 * MB; 16]),
        }
    }
}

/// A bench image on disk, read with ecr-fanout's own image reader.
pub struct PreparedImage {
    pub name: &'static str,
    pub layout: PathBuf,
    pub image: LocalImage,
}

impl PreparedImage {
    /// `oci:PATH`, for ecr-fanout and skopeo.
    pub fn oci_ref(&self) -> String {
        format!("oci:{}", self.layout.display())
    }

    /// Config and layer bytes plus the manifest: what one registry must receive.
    pub fn bytes_per_registry(&self) -> u64 {
        let blobs: u64 = self.image.blobs.iter().map(|blob| blob.size).sum();
        blobs + self.image.top.bytes.len() as u64
    }

    pub fn describe(&self) -> String {
        let layers: Vec<String> = self
            .image
            .blobs
            .iter()
            .map(|blob| blob.size.to_string())
            .collect();
        format!(
            "image {}: {}, {} blobs of {} bytes, {:.3} MB per registry",
            self.name,
            self.layout.display(),
            self.image.blobs.len(),
            layers.join(" + "),
            self.bytes_per_registry() as f64 / MB as f64
        )
    }
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The image's layout, generated first if this version of it is not on disk yet.
pub fn prepare(image: BenchImage) -> Result<PreparedImage> {
    let layout = match image.layer_sizes() {
        None => manifest_dir().join("examples/hello"),
        Some(sizes) => {
            let dir = manifest_dir()
                .join("target/bench-images")
                .join(STAMP)
                .join(image.name());
            if !dir.join("complete").is_file() {
                eprintln!("generating {} once into {}", image.name(), dir.display());
                generate(&dir, image.name(), &sizes)
                    .with_context(|| format!("generating bench image {}", image.name()))?;
            }
            dir
        }
    };
    let source = ImageSource::OciLayout {
        path: layout.clone(),
        reference: None,
    };
    let local = open_image(&source)?;
    Ok(PreparedImage {
        name: image.name(),
        layout,
        image: local,
    })
}

fn generate(dir: &Path, name: &str, layer_sizes: &[u64]) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let layout = LayoutBuilder::create(dir)?;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (position, size) in layer_sizes.iter().enumerate() {
        let seed = seed_of(&format!("{STAMP}/{name}/{position}"));
        let (layer, diff_id) = write_random_layer(&layout, seed, *size)?;
        layers.push(layer);
        diff_ids.push(diff_id);
    }
    let platform = Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
    };
    let config = layout.add_config(&platform, &diff_ids)?;
    let manifest = layout.add_manifest(&config, &layers)?;
    layout.write_index_json(&[(&manifest, "latest")])?;
    fs::write(dir.join("complete"), STAMP)?;
    Ok(())
}

/// Streams a gzip'd tar holding `content_size` pseudo-random bytes into the layout, without
/// holding it in memory. Returns the layer descriptor and its diff ID.
fn write_random_layer(
    layout: &LayoutBuilder,
    seed: u64,
    content_size: u64,
) -> Result<(Descriptor, Digest)> {
    let partial = layout.root().join("blobs/sha256/partial-layer");
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let compressed = DigestWriter::new(BufWriter::with_capacity(1 << 20, file));
    let plain = DigestWriter::new(GzEncoder::new(compressed, Compression::fast()));
    let mut tar = tar::Builder::new(plain);
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(content_size);
    header.set_mode(0o644);
    header.set_mtime(0);
    let content = RandomReader {
        rng: fastrand::Rng::with_seed(seed),
        remaining: content_size,
    };
    tar.append_data(&mut header, "bench/data.bin", content)?;
    let (gzip, diff_id, _) = tar.into_inner()?.finish();
    let (mut file, digest, size) = gzip.finish()?.finish();
    file.flush()?;
    let blob = layout.blob_path(&digest);
    fs::rename(&partial, &blob).with_context(|| format!("renaming to {}", blob.display()))?;
    Ok((Descriptor::new(OCI_LAYER_GZIP, digest, size), diff_id))
}

/// A fixed seed per layer name (FNV-1a), so regenerated layouts are identical.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct RandomReader {
    rng: fastrand::Rng,
    remaining: u64,
}

impl Read for RandomReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let count = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        self.rng.fill(&mut buf[..count]);
        self.remaining -= count as u64;
        Ok(count)
    }
}
